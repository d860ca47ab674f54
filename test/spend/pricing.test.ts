import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { costOf, loadPriceTable, type ModelPrice, type PriceTable } from '../../src/spend/pricing.ts';
import { ZERO_USAGE, type Usage } from '../../src/spend/record.ts';

function usage(u: Partial<Usage>): Usage {
  const out = { ...ZERO_USAGE, ...u };
  out.total_tokens = out.prompt_tokens + out.completion_tokens;
  return out;
}

function sha8(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 8);
}

const table: PriceTable = await loadPriceTable();

function idOf(provider: string | null, model: string): string | null {
  return table.lookup(provider, model)?.id ?? null;
}

describe('costOf', () => {
  test('plain usage: prompt at input, completion at output', () => {
    const price: ModelPrice = { input: 0.15e-6, output: 0.6e-6 };
    // 1000 × 0.15e-6 + 500 × 0.6e-6 = 0.00015 + 0.0003
    assert.equal(costOf(usage({ prompt_tokens: 1000, completion_tokens: 500 }), price), 0.00045);
  });

  test('cached prompt tokens are charged at cached_input and not again at input', () => {
    const price: ModelPrice = { input: 1.25e-6, output: 10e-6, cached_input: 0.125e-6 };
    // 2000 uncached × 1.25e-6 + 8000 cached × 0.125e-6 + 1000 × 10e-6 = 0.0025 + 0.001 + 0.01
    const cost = costOf(usage({ prompt_tokens: 10_000, cached_tokens: 8000, completion_tokens: 1000 }), price);
    assert.equal(cost, 0.0135);
  });

  test('cache writes are charged at cache_write, cache reads at cached_input, the rest at input', () => {
    const price: ModelPrice = { input: 3e-6, output: 15e-6, cached_input: 0.3e-6, cache_write: 3.75e-6 };
    // 1000 uncached × 3e-6 + 1000 read × 0.3e-6 + 3000 written × 3.75e-6 + 200 × 15e-6
    // = 0.003 + 0.0003 + 0.01125 + 0.003
    const u = usage({ prompt_tokens: 5000, cached_tokens: 1000, cache_write_tokens: 3000, completion_tokens: 200 });
    assert.equal(costOf(u, price), 0.01755);
  });

  test('reasoning tokens are part of completion and charged once, at the reasoning rate', () => {
    const price: ModelPrice = { input: 1e-6, output: 4e-6, reasoning: 2e-6 };
    // 100 × 1e-6 + 400 visible × 4e-6 + 600 reasoning × 2e-6 = 0.0001 + 0.0016 + 0.0012
    const u = usage({ prompt_tokens: 100, completion_tokens: 1000, reasoning_tokens: 600 });
    assert.equal(costOf(u, price), 0.0029);
  });

  test('without a reasoning rate, reasoning costs the same as output', () => {
    const price: ModelPrice = { input: 2e-6, output: 8e-6 };
    const split = costOf(usage({ prompt_tokens: 100, completion_tokens: 1000, reasoning_tokens: 900 }), price);
    // 100 × 2e-6 + 1000 × 8e-6
    assert.equal(split, 0.0082);
  });

  test('missing cached_input and cache_write rates fall back to input', () => {
    const price: ModelPrice = { input: 2e-6, output: 6e-6 };
    const u = usage({ prompt_tokens: 1000, cached_tokens: 300, cache_write_tokens: 200 });
    assert.equal(costOf(u, price), 0.002);
  });

  test('cached plus cache-write tokens beyond the prompt are clamped, never charged twice or negative', () => {
    const price: ModelPrice = { input: 1e-6, output: 1e-6, cached_input: 0.1e-6, cache_write: 2e-6 };
    // prompt 100: 80 cached (8e-6) + the remaining 20 as writes (40e-6), uncached 0
    const u = usage({ prompt_tokens: 100, cached_tokens: 80, cache_write_tokens: 50 });
    assert.equal(costOf(u, price), 0.000048);
    // reasoning is capped at the 5 completion tokens, a negative count is 0: 10 × 1e-6 + 5 × 1e-6
    const bogus = usage({ prompt_tokens: 10, completion_tokens: 5, reasoning_tokens: 50, cached_tokens: -5 });
    assert.equal(costOf(bogus, price), 0.000015);
  });

  test('1-hour cache writes are part of cache_write_tokens and charged once, at cache_write_1h', () => {
    const price: ModelPrice = { input: 4e-6, output: 20e-6, cached_input: 0.2e-6, cache_write: 5e-6, cache_write_1h: 8e-6 };
    // 100 uncached × 4e-6 + 1000 read × 0.2e-6 + 300 5m × 5e-6 + 200 1h × 8e-6 + 10 × 20e-6
    // = 0.0004 + 0.0002 + 0.0015 + 0.0016 + 0.0002
    const u = usage({ prompt_tokens: 1600, cached_tokens: 1000, cache_write_tokens: 500, cache_write_1h_tokens: 200, completion_tokens: 10 });
    assert.equal(costOf(u, price), 0.0039);
    // Without a 1-hour rate they cost the 5-minute rate; 1-hour writes beyond the writes are clamped.
    const { cache_write_1h: _, ...no1h } = price;
    assert.equal(costOf(u, no1h), 0.0033);
    assert.equal(costOf({ ...u, cache_write_1h_tokens: 9000 }, price), costOf({ ...u, cache_write_1h_tokens: 500 }, price));
  });

  test('a prompt above a tier prices the whole request at the tier rates; at the threshold it does not', () => {
    const price: ModelPrice = {
      input: 3e-6, output: 15e-6, cached_input: 0.3e-6,
      tiers: [{ above_prompt_tokens: 200_000, rates: { input: 6e-6, output: 22.5e-6, cached_input: 0.6e-6 } }],
    };
    // 200,000 prompt tokens: 150,000 × 3e-6 + 50,000 × 0.3e-6 + 1000 × 15e-6 = 0.45 + 0.015 + 0.015
    assert.equal(costOf(usage({ prompt_tokens: 200_000, cached_tokens: 50_000, completion_tokens: 1000 }), price), 0.48);
    // 200,001 (cache reads count towards the size): 150,001 × 6e-6 + 50,000 × 0.6e-6 + 1000 × 22.5e-6
    assert.equal(costOf(usage({ prompt_tokens: 200_001, cached_tokens: 50_000, completion_tokens: 1000 }), price), 0.952506);
  });

  test('the result is rounded to 10 decimals, without float noise', () => {
    const price: ModelPrice = { input: 0.1e-6, output: 0.2e-6 };
    assert.equal(costOf(usage({ prompt_tokens: 1, completion_tokens: 1 }), price), 3e-7);
    assert.equal(costOf(usage({ prompt_tokens: 3, completion_tokens: 0 }), { input: 1 / 3, output: 0 }), 1);
    assert.equal(costOf(ZERO_USAGE, price), 0);
  });
});

/** USD per 1M tokens as published, for one request's figures. */
interface Published {
  input: number;
  output: number;
  read?: number;
  write5m?: number;
  write1h?: number;
}

/** The cost of a request from published per-1M rates, computed by hand (not by costOf). */
function byHand(p: Published, u: { uncached: number; read?: number; w5?: number; w1h?: number; out: number }): number {
  const usd = (u.uncached * p.input + (u.read ?? 0) * (p.read ?? p.input) + (u.w5 ?? 0) * (p.write5m ?? p.input) + (u.w1h ?? 0) * (p.write1h ?? p.write5m ?? p.input) + u.out * p.output) / 1e6;
  return Math.round(usd * 1e10) / 1e10;
}

function costFor(provider: string, model: string, u: { uncached: number; read?: number; w5?: number; w1h?: number; out: number }): number {
  const match = table.lookup(provider, model);
  assert.ok(match, `${provider}/${model} has a price`);
  const writes = (u.w5 ?? 0) + (u.w1h ?? 0);
  return costOf(
    usage({
      prompt_tokens: u.uncached + (u.read ?? 0) + writes,
      cached_tokens: u.read ?? 0,
      cache_write_tokens: writes,
      cache_write_1h_tokens: u.w1h ?? 0,
      completion_tokens: u.out,
    }),
    match.price,
  );
}

describe('published prices', () => {
  // Anthropic's pricing page and Claude Code 2.1.332's model catalog, checked 2026-11-29.
  const claude: Record<string, Published> = {
    'claude-opus-5-5': { input: 4, output: 20, read: 0.2, write5m: 5, write1h: 8 },
    'claude-sonnet-5-5': { input: 2, output: 10, read: 0.1, write5m: 2.5, write1h: 4 },
    'claude-sonnet-5': { input: 2, output: 10, read: 0.2, write5m: 2.5, write1h: 4 },
    'claude-opus-5': { input: 5, output: 25, read: 0.5, write5m: 6.25, write1h: 10 },
    'claude-fable-5-1': { input: 10, output: 50, read: 0.25, write5m: 12.5, write1h: 20 },
    'claude-haiku-4-5': { input: 1, output: 5, read: 0.1, write5m: 1.25, write1h: 2 },
    'claude-sonnet-4-5': { input: 3, output: 15, read: 0.3, write5m: 3.75, write1h: 6 },
    'claude-opus-4-1': { input: 15, output: 75, read: 1.5, write5m: 18.75, write1h: 30 },
  };

  test('Claude models: input, cache reads, 5-minute and 1-hour writes and output at the published rates', () => {
    const u = { uncached: 1234, read: 50_000, w5: 3000, w1h: 7000, out: 812 };
    for (const [model, p] of Object.entries(claude)) {
      assert.equal(costFor('anthropic', model, u), byHand(p, u), model);
    }
  });

  test('cache-read multipliers are per model: 0.1x for Haiku 4.5, 0.05x for Opus 5.5 and Sonnet 5.5', () => {
    const ratio = (model: string) => {
      const p = table.lookup('anthropic', model)!.price;
      return Math.round((p.cached_input! / p.input) * 1000) / 1000;
    };
    assert.equal(ratio('claude-haiku-4-5'), 0.1);
    assert.equal(ratio('claude-opus-5-5'), 0.05);
    assert.equal(ratio('claude-sonnet-5-5'), 0.05);
    for (const model of ['claude-haiku-4-5', 'claude-opus-5-5', 'claude-sonnet-5-5']) {
      const p = table.lookup('anthropic', model)!.price;
      assert.equal(Math.round((p.cache_write! / p.input) * 100) / 100, 1.25, model);
      assert.equal(Math.round((p.cache_write_1h! / p.input) * 100) / 100, 2, model);
    }
  });

  test('Claude Code\'s figure for one Opus 5.5 call (4,238 input, 16 output tokens): $0.017272', () => {
    assert.equal(costFor('anthropic', 'claude-opus-5-5', { uncached: 4238, out: 16 }), 0.017272);
  });

  test('long context: Sonnet 4.5 and Gemini 2.5 Pro above 200k prompt tokens, GPT-6 Sol above 272k, Haiku 5.5 above 100k', () => {
    const sonnet = { uncached: 150_000, read: 40_000, w5: 15_000, out: 2000 };
    assert.equal(costFor('anthropic', 'claude-sonnet-4-5-20250929', sonnet), byHand({ input: 6, output: 22.5, read: 0.6, write5m: 7.5 }, sonnet));
    const below = { ...sonnet, uncached: 145_000 };
    assert.equal(costFor('anthropic', 'claude-sonnet-4-5', below), byHand(claude['claude-sonnet-4-5']!, below));
    const gemini = { uncached: 250_000, out: 1000 };
    assert.equal(costFor('gemini', 'gemini-2.5-pro', gemini), byHand({ input: 2.5, output: 15 }, gemini));
    const gpt6 = { uncached: 300_000, read: 10_000, out: 1000 };
    assert.equal(costFor('openai', 'gpt-6-sol', gpt6), byHand({ input: 4, output: 15, read: 0.4 }, gpt6));
    const haiku = { uncached: 90_000, read: 20_000, w1h: 1000, out: 500 };
    assert.equal(costFor('anthropic', 'claude-haiku-5-5', haiku), byHand({ input: 0.5, output: 2.5, read: 0.05, write5m: 0.625, write1h: 1 }, haiku));
    const small = { uncached: 9000, out: 500 };
    assert.equal(costFor('anthropic', 'claude-haiku-5-5', small), byHand({ input: 0.1, output: 0.5 }, small));
  });

  test('OpenAI, Gemini, DeepSeek and Mistral list prices (the figures the hand-kept table of 2026-11-27 had)', () => {
    const expected: [string, string, Published][] = [
      ['openai', 'gpt-5', { input: 1.25, output: 10, read: 0.125 }],
      ['openai', 'gpt-5-mini', { input: 0.25, output: 2, read: 0.025 }],
      ['openai', 'gpt-4.1', { input: 2, output: 8, read: 0.5 }],
      ['openai', 'gpt-4o-mini', { input: 0.15, output: 0.6, read: 0.075 }],
      ['openai', 'o3', { input: 2, output: 8, read: 0.5 }],
      ['openai', 'text-embedding-3-small', { input: 0.02, output: 0 }],
      ['gemini', 'gemini-2.5-flash', { input: 0.3, output: 2.5, read: 0.03 }],
      ['deepseek', 'deepseek-chat', { input: 0.28, output: 0.42, read: 0.028 }],
      ['mistral', 'mistral-large-latest', { input: 0.5, output: 1.5 }],
      ['mistral', 'codestral-2508', { input: 0.3, output: 0.9 }],
    ];
    const u = { uncached: 1000, read: 500, out: 100 };
    for (const [provider, model, p] of expected) {
      assert.equal(costFor(provider, model, { ...u, out: p.output === 0 ? 0 : u.out }), byHand(p, { ...u, out: p.output === 0 ? 0 : u.out }), `${provider}/${model}`);
    }
  });
});

describe('price sources', () => {
  test('every match names its layer: the bundled corrections, else the genai-prices data of the installed version', () => {
    const version = JSON.parse(readFileSync(new URL('../../node_modules/@pydantic/genai-prices/package.json', import.meta.url), 'utf8')).version;
    const corrections = JSON.parse(readFileSync(new URL('../../src/spend/price-corrections.json', import.meta.url), 'utf8'));
    assert.equal(table.ref, `tagspend:${corrections.as_of}+genai-prices:${version}`);
    assert.equal(table.lookup('anthropic', 'claude-opus-5-5')!.ref, `genai-prices:${version}`);
    assert.equal(table.lookup('anthropic', 'claude-sonnet-5-5')!.ref, `tagspend:${corrections.as_of}`);
    assert.ok(table.size > 1000);
  });

  test('a price that changes on a date is looked up for the instant asked, before and after the change', async () => {
    const providers = [
      {
        id: 'acme', name: 'Acme', api_pattern: 'acme', models: [
          {
            id: 'acme-1', match: { equals: 'acme-1' },
            prices: [{ prices: { input_mtok: 1, output_mtok: 2 } }, { constraint: { start_date: '2026-10-07' }, prices: { input_mtok: 0.5, output_mtok: 2 } }],
          },
        ],
      },
    ];
    const t = await loadPriceTable({ data: { providers: providers as never, ref: 'genai-prices:test' } });
    const before = Date.parse('2026-10-06T23:59:59Z');
    const after = Date.parse('2026-10-07T00:00:00Z');
    assert.equal(t.lookup('acme', 'acme-1', before)!.price.input, 1e-6);
    assert.equal(t.lookup('acme', 'acme-1', after)!.price.input, 5e-7);
    assert.equal(t.lookup('acme', 'acme-1', before)!.price.input, 1e-6);
    assert.equal(t.lookup('acme', 'acme-1', after + 86_400_000)!.price.input, 5e-7);
    assert.equal(t.lookup('acme', 'acme-1', after)!.ref, 'genai-prices:test');
  });
});

describe('lookup', () => {
  test('dated ids resolve to their model', () => {
    assert.equal(idOf('openai', 'gpt-5-2025-08-07'), 'openai/gpt-5');
    assert.equal(idOf('openai', 'gpt-4o-mini-2024-07-18'), 'openai/gpt-4o-mini');
    assert.equal(idOf('anthropic', 'claude-sonnet-4-5-20250929'), 'anthropic/claude-sonnet-4-5');
    assert.equal(idOf('anthropic', 'claude-opus-5-5-20261001'), 'anthropic/claude-opus-5-5');
    assert.equal(idOf('anthropic', 'claude-sonnet-5-5-20261001'), 'anthropic/claude-sonnet-5-5');
    assert.equal(idOf('mistral', 'mistral-large-latest'), 'mistral/mistral-large');
  });

  test('unknown models resolve to null', () => {
    assert.equal(table.lookup('openai', 'gpt-99'), null);
    assert.equal(table.lookup(null, 'no-such-model'), null);
    assert.equal(table.lookup('openai', ''), null);
    assert.equal(table.lookup(null, `gpt-4o${'/'.repeat(300)}`), null);
    assert.equal(table.lookup('mock', 'mock-gpt'), null);
  });

  test("a provider with prices of its own never borrows another provider's price", () => {
    assert.equal(table.lookup('openai', 'claude-sonnet-4-5'), null);
    assert.equal(table.lookup('anthropic', 'gpt-4o'), null);
  });

  test('provider-prefixed and unprefixed ids resolve, case-insensitively; gemini and xai are the data\'s google and x-ai', () => {
    assert.equal(idOf(null, 'openai/gpt-5'), 'openai/gpt-5');
    assert.equal(idOf(null, 'gpt-4.1-mini'), 'openai/gpt-4.1-mini');
    assert.equal(idOf('openai', 'openai/gpt-5'), 'openai/gpt-5');
    assert.equal(idOf('OpenAI', 'GPT-4o'), 'openai/gpt-4o');
    assert.equal(idOf('gemini', 'models/gemini-2.5-pro'), 'google/gemini-2.5-pro');
    assert.match(idOf('xai', 'grok-4') ?? '', /^x-ai\//);
  });

  test('the mock provider and providers of the user\'s naming are priced by the model name they serve', () => {
    assert.equal(idOf('mock', 'gpt-4o-mini'), 'openai/gpt-4o-mini');
    assert.equal(idOf(null, 'mock/gpt-4o-mini'), 'openai/gpt-4o-mini');
    assert.equal(idOf('mock', 'claude-opus-5-5-20261001'), 'anthropic/claude-opus-5-5');
    assert.equal(idOf('mock', 'claude-haiku-5-5'), 'anthropic/claude-haiku-5-5');
    assert.equal(idOf('mock', 'anthropic/claude-haiku-4-5'), 'anthropic/claude-haiku-4-5');
  });

  test('repeated lookups return the same memoised match', () => {
    const first = table.lookup('anthropic', 'claude-opus-4-5');
    assert.ok(first);
    assert.equal(table.lookup('anthropic', 'claude-opus-4-5'), first);
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first.price));
  });
});

describe('overrides file', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tagspend-pricing-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, content: unknown): string {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  }

  async function problemsOf(path: string): Promise<string[]> {
    try {
      await loadPriceTable({ overridesFile: path });
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems;
    }
    assert.fail('expected a ConfigError');
  }

  test('adds and replaces entries, which carry the file ref', async () => {
    const path = write('prices.json', {
      models: {
        'groq/llama-3.3-70b-versatile': { input_usd_per_1m: 0.59, output_usd_per_1m: 0.79 },
        'openai/gpt-4o': { input_usd_per_1m: 2, output_usd_per_1m: 8, cached_input_usd_per_1m: 1 },
      },
    });
    const t = await loadPriceTable({ overridesFile: path });
    const fileRef = `file:prices.json@${sha8(path)}`;
    assert.equal(t.ref, `${fileRef}+${table.ref}`);
    assert.equal(t.size, table.size + 2);
    assert.deepEqual(t.lookup('groq', 'llama-3.3-70b-versatile'), {
      price: { input: 5.9e-7, output: 7.9e-7 },
      ref: fileRef,
      id: 'groq/llama-3.3-70b-versatile',
    });
    const replaced = t.lookup('openai', 'gpt-4o-2024-11-20')!;
    assert.equal(replaced.ref, fileRef);
    assert.deepEqual(replaced.price, { input: 2e-6, output: 8e-6, cached_input: 1e-6 });
    assert.equal(t.lookup('openai', 'gpt-4o-mini')!.ref, table.lookup('openai', 'gpt-4o-mini')!.ref);
  });

  test('a YAML file works, a replaced entry re-prices its bundled aliases, and tiers and 1-hour writes are read', async () => {
    const path = write(
      'team-prices.yaml',
      [
        'models:',
        '  mistral/mistral-large:',
        '    input_usd_per_1m: 0.4',
        '    output_usd_per_1m: 1.2',
        '  anthropic/claude-opus-5-5:',
        '    input_usd_per_1m: 3.6',
        '    output_usd_per_1m: 18',
        '    cache_write_1h_usd_per_1m: 7.2',
        '    tiers:',
        '      - above_prompt_tokens: 500000',
        '        input_usd_per_1m: 7.2',
        '',
      ].join('\n'),
    );
    const t = await loadPriceTable({ overridesFile: path });
    const viaAlias = t.lookup('mistral', 'mistral-large-2512')!;
    assert.equal(viaAlias.ref, `file:team-prices.yaml@${sha8(path)}`);
    assert.deepEqual(viaAlias.price, { input: 4e-7, output: 1.2e-6 });
    assert.deepEqual(t.lookup('anthropic', 'claude-opus-5-5-20261001')!.price, {
      input: 3.6e-6, output: 1.8e-5, cache_write_1h: 7.2e-6,
      tiers: [{ above_prompt_tokens: 500_000, rates: { input: 7.2e-6, output: 1.8e-5, cache_write_1h: 7.2e-6 } }],
    });
  });

  test('an override for a provider wins for that provider only', async () => {
    const path = write('azure.json', { models: { 'azure/gpt-4o-mini': { input_usd_per_1m: 0.165, output_usd_per_1m: 0.66 } } });
    const t = await loadPriceTable({ overridesFile: path });
    assert.equal(t.lookup('azure', 'gpt-4o-mini')!.id, 'azure/gpt-4o-mini');
    assert.equal(t.lookup('openai', 'gpt-4o-mini')!.id, 'openai/gpt-4o-mini');
  });

  test('a bad file lists every problem in one ConfigError', async () => {
    const path = write('bad.json', {
      currency: 'EUR',
      models: {
        'no-provider': { input_usd_per_1m: 1, output_usd_per_1m: 1 },
        'openai/a': { input_usd_per_1m: -1, output_usd_per_1m: 1 },
        'openai/b': { input_usd_per_1m: 1 },
        'openai/c': { input_usd_per_1m: 1, output_usd_per_1m: '2', cache_read_usd_per_1m: 1 },
        'OpenAI/A': { input_usd_per_1m: 1, output_usd_per_1m: 1 },
      },
    });
    const problems = await problemsOf(path);
    const expected = [
      /currency/,
      /models\["no-provider"\]: key must be "<provider>\/<model>"/,
      /models\["openai\/a"\]\.input_usd_per_1m/,
      /models\["openai\/b"\]\.output_usd_per_1m/,
      /models\["openai\/c"\]\.output_usd_per_1m/,
      /cache_read_usd_per_1m/,
      /models\["OpenAI\/A"\]: same model as "openai\/a"/,
    ];
    for (const re of expected) assert.ok(problems.some((p) => re.test(p)), `no problem matches ${re}: ${problems.join(' | ')}`);
    assert.equal(problems.length, expected.length);
    assert.ok(problems.every((p) => p.startsWith(`pricing.overrides_file ${path}: `)));
  });

  test('alias clashes, unreadable and unparseable files are reported', async () => {
    const clash = write('clash.json', {
      models: {
        'openai/x': { input_usd_per_1m: 1, output_usd_per_1m: 1, aliases: ['y'] },
        'openai/y': { input_usd_per_1m: 2, output_usd_per_1m: 2 },
      },
    });
    assert.match((await problemsOf(clash)).join('\n'), /aliases: "y" already names "openai\/y"/);
    assert.match((await problemsOf(join(dir, 'missing.yaml'))).join('\n'), /cannot read/);
    assert.match((await problemsOf(write('broken.json', '{"models": '))).join('\n'), /cannot parse/);
  });
});
