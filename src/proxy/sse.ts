// Server-sent events pass through event by event: each complete event goes to the client as
// soon as it arrives, and only events that carry usage are parsed. When the proxy added
// `stream_options.include_usage` itself, the usage-only chunk (empty `choices`) is taken out
// so the client sees the stream it asked for.
import { normaliseUsage, usageFromBody } from '../providers/usage.ts';
import type { Usage } from '../spend/record.ts';
import { toOpenAIError, UpstreamEventTooLargeError } from '../errors.ts';
import type { SecretScrubber } from './secrets.ts';

const USAGE_OBJECT = /"usage"\s*:\s*\{/;
const EMPTY_CHOICES = /"choices"\s*:\s*\[\s*\]/;

/** Default cap on one event (config `upstream.max_event_bytes`): image events are a few MiB. */
export const DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024;

export class SseUsageTap {
  usage: Usage | null = null;
  model: string | null = null;
  /** The stream ended with `data: [DONE]` or a Responses `response.completed` event. */
  done = false;
  /** An error event from the provider in the middle of the stream. */
  errorMessage: string | null = null;
  events = 0;
  private readonly hideUsageChunk: boolean;
  /** Largest event accepted (config upstream.max_event_bytes); set by the relay for any tap. */
  maxEventBytes: number;
  private scrub: SecretScrubber | null;
  /** The event inspect() just passed is a provider error (its text may echo the key). */
  private errorEvent = false;
  private readonly decoder = new TextDecoder();
  /**
   * The incomplete event so far, as pieces: only new text is ever searched for a boundary, and
   * the pieces are joined once, when the event completes (a growing string would be flattened,
   * that is copied, by every search: quadratic in the event's size).
   */
  private parts: string[] = [];
  /** Bytes received since the last event boundary. */
  private pendingBytes = 0;
  /** The held text ends with a newline (half of a boundary). */
  private heldNewline = false;
  /** The last piece ended with CR, whose LF may start the next one. */
  private afterCr = false;
  /**
   * The terminal event (`[DONE]`, `response.completed`) and anything after it: sent by flush(),
   * after the record is written, so a client never sees a complete answer that has no record.
   */
  private held = '';

  constructor(options: { hideUsageChunk: boolean; maxEventBytes?: number; scrub?: SecretScrubber }) {
    this.hideUsageChunk = options.hideUsageChunk;
    this.maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
    this.scrub = options.scrub ?? null;
  }

  /** Feeds upstream bytes; returns the text to send to the client now (possibly empty). */
  push(chunk: Buffer): string {
    let piece = this.decoder.decode(chunk, { stream: true });
    if (this.afterCr && piece.charCodeAt(0) === 10) piece = piece.slice(1);
    if (piece.length > 0) this.afterCr = piece.charCodeAt(piece.length - 1) === 13;
    if (piece.includes('\r')) piece = piece.replace(/\r\n?/g, '\n');

    let out = '';
    let start = 0;
    if (this.heldNewline && piece.charCodeAt(0) === 10) {
      out += this.emit(`${this.take()}\n`);
      start = 1;
    }
    for (let end = piece.indexOf('\n\n', start); end >= 0; end = piece.indexOf('\n\n', start)) {
      const tail = piece.slice(start, end + 2);
      out += this.emit(this.parts.length > 0 ? this.take() + tail : tail);
      start = end + 2;
    }
    if (start === 0) {
      this.pendingBytes += chunk.length;
    } else {
      this.pendingBytes = 0;
    }
    if (start < piece.length) {
      const rest = start === 0 ? piece : piece.slice(start);
      this.parts.push(rest);
      if (start > 0) this.pendingBytes = Buffer.byteLength(rest);
      this.heldNewline = rest.charCodeAt(rest.length - 1) === 10;
    } else if (start > 0) {
      this.heldNewline = false;
    }
    if (this.pendingBytes > this.maxEventBytes) {
      this.parts = [];
      throw new UpstreamEventTooLargeError(`provider sent a stream event larger than ${this.maxEventBytes} bytes (upstream.max_event_bytes); the stream was cut there`);
    }
    return out;
  }

  /** What is left when the upstream ends: the held terminal event, then an unterminated last event as it is. */
  flush(): string {
    const rest = this.take() + this.decoder.decode();
    const out = rest.trim() === '' ? rest : this.emit(rest);
    const held = this.held;
    this.held = '';
    return held + out;
  }

  /** The relay's settings, for a tap whichever dialect made it. */
  limit(options: { maxEventBytes?: number; scrub?: SecretScrubber }): void {
    if (options.maxEventBytes !== undefined) this.maxEventBytes = options.maxEventBytes;
    if (options.scrub) this.scrub = options.scrub;
  }

  /** The event that tells the client the proxy cut the stream (this API's error shape). */
  errorEventFor(err: unknown): string {
    return `data: ${JSON.stringify(toOpenAIError(err).body)}\n\n`;
  }

  /** A provider error event: its message is recorded, and the event is scrubbed of known keys before it is relayed. */
  protected reportError(message: string): void {
    this.errorMessage = message;
    this.errorEvent = true;
  }

  /** Whether the stream said it completed (a stream that only carried usage counts too). */
  finished(): boolean {
    return this.done || this.usage !== null;
  }

  private take(): string {
    const text = this.parts.length === 1 ? this.parts[0]! : this.parts.join('');
    this.parts = [];
    this.heldNewline = false;
    return text;
  }

  private emit(event: string): string {
    if (!this.inspect(event)) return '';
    let out = event;
    if (this.errorEvent) {
      this.errorEvent = false;
      if (this.scrub) out = this.scrub.scrub(event);
    }
    if (this.done) {
      this.held += out;
      return '';
    }
    return out;
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
      this.reportError(typeof err?.message === 'string' ? err.message : 'provider reported an error in the stream');
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
