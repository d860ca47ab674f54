// `npm run bench:pricing`: what pricing one request costs on the proxy's hot path. The
// @pydantic/genai-prices call per request (its calcPrice matches the model against the
// provider's entries every time) against tagspend's lookup, which asks the library once per
// model and memoises the rates, plus costOf. Not a test: it prints figures.
import { calcPrice } from '@pydantic/genai-prices';
import { costOf, loadPriceTable } from '../src/spend/pricing.ts';

const N = Number(process.env.BENCH_ITERATIONS ?? 200_000);
const table = await loadPriceTable();
const at = Date.now();

const cases = [
  { provider: 'anthropic', model: 'claude-opus-5-5', usage: { prompt_tokens: 61_234, completion_tokens: 812, total_tokens: 62_046, cached_tokens: 50_000, cache_write_tokens: 10_000, cache_write_1h_tokens: 7000, reasoning_tokens: 0 } },
  { provider: 'openai', model: 'gpt-4o-mini-2024-07-18', usage: { prompt_tokens: 120, completion_tokens: 40, total_tokens: 160, cached_tokens: 0, cache_write_tokens: 0, cache_write_1h_tokens: 0, reasoning_tokens: 0 } },
];

function time(label: string, iterations: number, fn: () => unknown): void {
  for (let i = 0; i < Math.min(2000, iterations); i++) fn(); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const ns = Number(process.hrtime.bigint() - t0) / iterations;
  console.log(`${label.padEnd(60)} ${(ns / 1000).toFixed(3).padStart(8)} µs per request`);
}

for (const c of cases) {
  const u = c.usage;
  const lib = { input_tokens: u.prompt_tokens, output_tokens: u.completion_tokens, cache_read_tokens: u.cached_tokens, cache_write_tokens: u.cache_write_tokens };
  time(`calcPrice every request (${c.provider}, ${c.model})`, Math.ceil(N / 20), () => calcPrice(lib, c.model, { providerId: c.provider }));
  time(`tagspend lookup (memoised) + costOf (${c.provider}, ${c.model})`, N, () => costOf(u, table.lookup(c.provider, c.model, at)!.price));
}
