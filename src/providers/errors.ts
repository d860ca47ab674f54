// Provider error answers, normalised: the status is kept, the body becomes the OpenAI error
// shape whatever the provider sent (OpenAI's and Anthropic's shapes, a bare string, plain text).
import { UpstreamError } from '../errors.ts';

/** The provider's error, normalised to the OpenAI shape with its status kept. */
export function upstreamError(status: number, text: string, headers: Record<string, string | string[] | undefined>, provider: string): UpstreamError {
  let message = text.trim().slice(0, 2000) || `Provider ${provider} answered HTTP ${status}`;
  let type = status === 429 ? 'rate_limit_error' : status >= 500 ? 'api_error' : 'invalid_request_error';
  let code: string | null = null;
  let param: string | null = null;
  try {
    const parsed = JSON.parse(text) as { error?: unknown; message?: unknown };
    const e = (typeof parsed.error === 'object' && parsed.error !== null ? parsed.error : parsed) as Record<string, unknown>;
    if (typeof e.message === 'string') message = e.message;
    else if (typeof parsed.error === 'string') message = parsed.error;
    if (typeof e.type === 'string') type = e.type;
    if (typeof e.code === 'string' || typeof e.code === 'number') code = String(e.code);
    if (typeof e.param === 'string') param = e.param;
  } catch {
    // Plain-text error bodies become the message.
  }
  const err = new UpstreamError(status, message, type, code, param);
  const ra = headers['retry-after'];
  if (typeof ra === 'string') err.retryAfter = ra;
  return err;
}
