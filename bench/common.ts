// What the proxy benchmarks share: the request they send and how they read a process's CPU.
import { readFileSync } from 'node:fs';

/** A typical support-bot chat completion with tags and metadata in the body. */
export const CHAT_BODY = JSON.stringify({
  model: 'mock/gpt-4o-mini',
  messages: [
    { role: 'system', content: 'You are a helpful support assistant for an online shop.' },
    { role: 'user', content: 'Where is my order #12345? It was due yesterday.' },
  ],
  max_tokens: 40,
  user: 'customer_54321',
  metadata: { tags: ['app:support-bot', 'env:production'], spend_logs_metadata: { project: 'q4-sales-analysis' } },
});

/**
 * A non-streamed Anthropic Messages request as the Anthropic SDK sends it: a cached system
 * prompt, a user message, tags and a user id in metadata (read and removed / kept by the proxy).
 */
export const MESSAGES_BODY = JSON.stringify({
  model: 'claude-opus-5-5',
  max_tokens: 40,
  system: [{ type: 'text', text: 'You are a helpful support assistant for an online shop.', cache_control: { type: 'ephemeral' } }],
  messages: [{ role: 'user', content: 'Where is my order #12345? It was due yesterday.' }],
  metadata: { user_id: 'customer_54321', tags: ['app:support-bot', 'env:production'], spend_logs_metadata: { project: 'q4-sales-analysis' } },
});

/** Kernel clock ticks per second (`getconf CLK_TCK`; 100 on Linux). */
const CLOCK_TICKS = 100;

function statFields(pid: number): string[] {
  // After the ") " that ends the command name, utime and stime (fields 14 and 15) are at 11 and 12.
  return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
}

/** CPU time (user + system) a process has used, in microseconds. */
export function cpuMicros(pid: number): number {
  const f = statFields(pid);
  return ((Number(f[11]) + Number(f[12])) * 1e6) / CLOCK_TICKS;
}

/** System CPU time a process has used, in microseconds. */
export function sysMicros(pid: number): number {
  return (Number(statFields(pid)[12]) * 1e6) / CLOCK_TICKS;
}
