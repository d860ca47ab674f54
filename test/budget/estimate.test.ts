import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesPerToken, DEFAULT_OUTPUT_TOKENS, estimateCost, requestedOutputTokens } from '../../src/budget/estimate.ts';
import { TagAccess } from '../../src/proxy/tag-access.ts';
import { costOf, costParts, type ModelPrice } from '../../src/spend/pricing.ts';

const OPUS: ModelPrice = { input: 4e-6, output: 20e-6, cache_write: 5e-6, cached_input: 0.2e-6 };

test('input is bounded from the body size: 1.5 bytes per token for known families, 1 for any other model', () => {
  assert.equal(bytesPerToken('claude-opus-5-5'), 1.5);
  assert.equal(bytesPerToken('gpt-5-mini-2025-08-07'), 1.5);
  assert.equal(bytesPerToken('o4-mini'), 1.5);
  assert.equal(bytesPerToken('gemini-2.5-pro'), 1.5);
  assert.equal(bytesPerToken('llama-3.3-70b-versatile'), 1);
  const e = estimateCost({ bodyBytes: 30_000, body: { max_tokens: 100 }, model: 'claude-opus-5-5', price: OPUS, producesOutput: true, outputTokensCap: 16_384 });
  assert.equal(e.inputTokens, 20_000);
  // Every input token at the dearest input-side rate (a cache write), every output token at output.
  assert.equal(e.input, 20_000 * 5e-6);
  assert.equal(e.total, 20_000 * 5e-6 + 100 * 20e-6);
});

test('output is the smallest of max_tokens, the model limit and the cap; 16,384 when nothing says', () => {
  const est = (body: Record<string, unknown>, cap = 16_384, price: ModelPrice = OPUS) =>
    estimateCost({ bodyBytes: 0, body, model: 'claude-opus-5-5', price, producesOutput: true, outputTokensCap: cap }).outputTokens;
  assert.equal(est({ max_tokens: 128_000 }), 16_384, 'Claude Code asks for 128,000');
  assert.equal(est({ max_tokens: 128_000 }, 0), 128_000, 'cap 0: the naive worst case');
  assert.equal(est({ max_tokens: 500 }), 500);
  assert.equal(est({ max_completion_tokens: 300, max_tokens: 900 }), 300, 'max_completion_tokens wins, as providers read it');
  assert.equal(est({ max_output_tokens: 700 }), 700, 'the Responses API name');
  assert.equal(est({}), 16_384);
  assert.equal(est({}, 0), DEFAULT_OUTPUT_TOKENS);
  assert.equal(est({ max_tokens: 128_000 }, 0, { ...OPUS, max_output_tokens: 64_000 }), 64_000, 'the model cannot write more');
  assert.equal(est({ max_tokens: 100, n: 3 }), 300, 'n choices');
  assert.equal(est({ max_tokens: -5 }), 16_384, 'not a limit');
  assert.equal(requestedOutputTokens({ max_tokens: 1.5 }), null);
  const emb = estimateCost({ bodyBytes: 300, body: { max_tokens: 100 }, model: 'text-embedding-3-small', price: OPUS, producesOutput: false, outputTokensCap: 16_384 });
  assert.equal(emb.outputTokens, 0, 'embeddings produce no output tokens');
});

test('the cost parts add up to the cost: input, cache read, cache creation, output (reasoning inside output)', () => {
  const usage = { prompt_tokens: 10_000, completion_tokens: 2_000, total_tokens: 12_000, cached_tokens: 6_000, cache_write_tokens: 1_000, cache_write_1h_tokens: 0, reasoning_tokens: 500 };
  const price: ModelPrice = { ...OPUS, reasoning: 25e-6 };
  const p = costParts(usage, price);
  assert.equal(p.input, 3_000 * 4e-6);
  assert.equal(p.cacheRead, 6_000 * 0.2e-6);
  assert.equal(p.cacheCreation, 1_000 * 5e-6);
  assert.equal(p.reasoning, 500 * 25e-6);
  assert.ok(Math.abs(p.input + p.cacheRead + p.cacheCreation + p.output - costOf(usage, price)) < 1e-12);
});

test('allowed_tags globs: * matches any run of characters, everything else itself', () => {
  const a = new TagAccess(['team:search', 'tenant:*', 'app:search-*-prod'], ['key:own']);
  for (const t of ['team:search', 'tenant:acme', 'tenant:', 'app:search-web-prod']) assert.ok(a.matches(t), t);
  for (const t of ['team:searchx', 'team:billing', 'xtenant:acme', 'app:search-web-dev', 'app:search.web-prod']) assert.ok(!a.matches(t), t);
  a.checkRequest(['team:search', 'key:own'], 'k');
  assert.throws(() => a.checkRequest(['tenant:a', 'team:other'], 'k'), /may not put the tag "team:other"/);
  assert.ok(!new TagAccess(['a.c']).matches('abc'), 'a dot is a dot');
});
