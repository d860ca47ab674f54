// A Messages API stream passes through as every stream does (sse.ts frames the events); only
// the events that carry usage or end the stream are parsed: `message_start` (input side and
// the served model), `message_delta` (cumulative counts), `message_stop`, and `error` (an
// overloaded provider mid-stream). `ping`, content events and event types Anthropic adds later
// pass untouched and unparsed.
import { mergeMessagesUsage, messagesUsage, toAnthropicError } from '../providers/anthropic.ts';
import { dataOf, SseUsageTap } from './sse.ts';

/** Data of the events worth parsing start with one of these (Anthropic puts `type` first). */
const PARSED = /^\{\s*"type"\s*:\s*"(message_start|message_delta|message_stop|error)"/;

export class MessagesSseTap extends SseUsageTap {
  private rawUsage: Record<string, unknown> | null = null;

  constructor() {
    super({ hideUsageChunk: false });
  }

  /** Anthropic's stream error event. */
  override errorEventFor(err: unknown): string {
    return `event: error\ndata: ${JSON.stringify(toAnthropicError(err).body)}\n\n`;
  }

  /** Only `message_stop` says the answer is complete: usage arrives with the first event. */
  override finished(): boolean {
    return this.done;
  }

  protected override inspect(event: string): boolean {
    this.events += 1;
    const data = dataOf(event);
    if (data === null) return true;
    const kind = PARSED.exec(data)?.[1];
    if (kind === undefined) return true;
    if (kind === 'message_stop') {
      this.done = true;
      return true;
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return true;
    }
    if (kind === 'error') {
      const err = parsed.error as { message?: unknown } | undefined;
      this.reportError(typeof err?.message === 'string' ? err.message : 'provider reported an error in the stream');
      return true;
    }
    const message = kind === 'message_start' ? (parsed.message as Record<string, unknown> | undefined) : undefined;
    if (message && typeof message.model === 'string') this.model = message.model;
    this.rawUsage = mergeMessagesUsage(this.rawUsage, kind === 'message_start' ? message?.usage : parsed.usage);
    const usage = messagesUsage(this.rawUsage);
    if (usage) this.usage = usage;
    return true;
  }
}
