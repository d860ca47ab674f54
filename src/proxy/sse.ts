// Server-sent events pass through event by event: each complete event goes to the client as
// soon as it arrives, and only events that carry usage are parsed. When the proxy added
// `stream_options.include_usage` itself, the usage-only chunk (empty `choices`) is taken out
// so the client sees the stream it asked for.
import { normaliseUsage, usageFromBody } from '../providers/usage.ts';
import type { Usage } from '../spend/record.ts';

const USAGE_OBJECT = /"usage"\s*:\s*\{/;
const EMPTY_CHOICES = /"choices"\s*:\s*\[\s*\]/;

export class SseUsageTap {
  usage: Usage | null = null;
  model: string | null = null;
  /** The stream ended with `data: [DONE]` or a Responses `response.completed` event. */
  done = false;
  /** An error event from the provider in the middle of the stream. */
  errorMessage: string | null = null;
  events = 0;
  private readonly hideUsageChunk: boolean;
  private readonly decoder = new TextDecoder();
  private pending = '';

  constructor(options: { hideUsageChunk: boolean }) {
    this.hideUsageChunk = options.hideUsageChunk;
  }

  /** Feeds upstream bytes; returns the text to send to the client now (possibly empty). */
  push(chunk: Buffer): string {
    let text = this.pending + this.decoder.decode(chunk, { stream: true });
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
    const lastBoundary = text.lastIndexOf('\n\n');
    if (lastBoundary < 0) {
      this.pending = text;
      return '';
    }
    this.pending = text.slice(lastBoundary + 2);
    const complete = text.slice(0, lastBoundary + 2);
    let out = '';
    let start = 0;
    while (start < complete.length) {
      const end = complete.indexOf('\n\n', start) + 2;
      const event = complete.slice(start, end);
      start = end;
      if (this.inspect(event)) out += event;
    }
    return out;
  }

  /** Whatever is left when the upstream ends (an unterminated last event is passed on as is). */
  flush(): string {
    const rest = this.pending + this.decoder.decode();
    this.pending = '';
    if (rest.trim() === '') return rest;
    return this.inspect(rest) ? rest : '';
  }

  /** Whether the stream said it completed (a stream that only carried usage counts too). */
  finished(): boolean {
    return this.done || this.usage !== null;
  }

  /** Looks at one event; returns false when it must not reach the client. */
  protected inspect(event: string): boolean {
    this.events += 1;
    const data = dataOf(event);
    if (data === null) return true;
    if (data === '[DONE]') {
      this.done = true;
      return true;
    }
    const first = this.model === null;
    const hasUsage = USAGE_OBJECT.test(data);
    const isError = data.startsWith('{"error"') || /^event:\s*(error|response\.failed)/m.test(event);
    if (!first && !hasUsage && !isError && !data.includes('response.completed')) return true;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return true;
    }
    if (first) {
      const m = usageFromBody(parsed).model;
      if (m) this.model = m;
    }
    if (parsed.type === 'response.completed') this.done = true;
    if (isError || parsed.type === 'response.failed' || parsed.type === 'error') {
      const err = (parsed.error ?? (parsed.response as Record<string, unknown> | undefined)?.error) as { message?: unknown } | undefined;
      this.errorMessage = typeof err?.message === 'string' ? err.message : 'provider reported an error in the stream';
    }
    if (hasUsage) {
      const { usage } = usageFromBody(parsed);
      const u = usage ?? normaliseUsage(parsed.usage);
      if (u) this.usage = u;
      if (this.hideUsageChunk && EMPTY_CHOICES.test(data)) return false;
    }
    return true;
  }
}

/** The data of an SSE event (multi-line data joined by '\n'); null when it has none. */
export function dataOf(event: string): string | null {
  let data: string | null = null;
  for (const line of event.split('\n')) {
    if (line.startsWith('data:')) {
      const v = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
      data = data === null ? v : `${data}\n${v}`;
    }
  }
  return data;
}
