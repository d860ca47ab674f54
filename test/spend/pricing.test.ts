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

const table: PriceTable = loadPriceTable();

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
    const price = table.lookup('openai', 'gpt-5')!.price;
    // 2000 uncached × 1.25e-6 + 8000 cached × 0.125e-6 + 1000 × 10e-6 = 0.0025 + 0.001 + 0.01
    const cost = costOf(usage({ prompt_tokens: 10_000, cached_tokens: 8000, completion_tokens: 1000 }), price);
    assert.equal(cost, 0.0135);
  });

  test('cache writes are charged at cache_write, cache reads at cached_input, the rest at input', () => {
    const price = table.lookup('anthropic', 'claude-sonnet-4-5')!.price;
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
    const price = table.lookup('openai', 'o3')!.price;
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

  test('the result is rounded to 10 decimals, without float noise', () => {
    const price: ModelPrice = { input: 0.1e-6, output: 0.2e-6 };
    assert.equal(costOf(usage({ prompt_tokens: 1, completion_tokens: 1 }), price), 3e-7);
    assert.equal(costOf(usage({ prompt_tokens: 3, completion_tokens: 0 }), { input: 1 / 3, output: 0 }), 1);
    assert.equal(costOf(ZERO_USAGE, price), 0);
  });
});

describe('bundled price table', () => {
  test('its ref is builtin:<YYYY-MM> of the as_of date, and it names its source', () => {
    const file = JSON.parse(readFileSync(new URL('../../src/spend/prices.json', import.meta.url), 'utf8'));
    assert.match(file.as_of, /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(file.source.includes('pricing'));
    assert.equal(table.ref, `builtin:${file.as_of.slice(0, 7)}`);
    assert.equal(table.size, Object.keys(file.models).length);
  });

  test('prices per 1M tokens become USD per token', () => {
    assert.deepEqual(table.lookup('openai', 'gpt-4o-mini')!.price, { input: 1.5e-7, output: 6e-7, cached_input: 7.5e-8 });
    assert.deepEqual(table.lookup('anthropic', 'claude-haiku-4-5')!.price, {
      input: 1e-6,
      output: 5e-6,
      cached_input: 1e-7,
      cache_write: 1.25e-6,
    });
  });

  test('covers the models the issue asks for', () => {
    const required = [
      'openai/gpt-5', 'openai/gpt-5-mini', 'openai/gpt-5-nano', 'openai/gpt-4.1', 'openai/gpt-4.1-mini',
      'openai/gpt-4.1-nano', 'openai/gpt-4o', 'openai/gpt-4o-mini', 'openai/o3', 'openai/o4-mini', 'openai/o1',
      'openai/text-embedding-3-small', 'openai/text-embedding-3-large', 'anthropic/claude-opus-4-1',
      'anthropic/claude-opus-4-5', 'anthropic/claude-sonnet-4-5', 'anthropic/claude-sonnet-4',
      'anthropic/claude-haiku-4-5', 'anthropic/claude-3-5-haiku', 'gemini/gemini-2.5-pro', 'gemini/gemini-2.5-flash',
      'gemini/gemini-2.5-flash-lite', 'gemini/gemini-2.0-flash', 'mistral/mistral-large', 'mistral/mistral-medium',
      'mistral/mistral-small', 'mistral/codestral', 'deepseek/deepseek-chat', 'deepseek/deepseek-reasoner',
    ];
    const missing = required.filter((id) => idOf(null, id) !== id);
    assert.deepEqual(missing, []);
    for (const id of required.filter((r) => r.startsWith('anthropic/'))) {
      const p = table.lookup(null, id)!.price;
      assert.ok(p.cached_input! < p.input && p.cache_write! > p.input, `${id} has cache read and write prices`);
    }
  });
});

describe('lookup', () => {
  test('dated ids resolve to their family', () => {
    assert.equal(idOf('openai', 'gpt-5-2025-08-07'), 'openai/gpt-5');
    assert.equal(idOf('openai', 'gpt-4o-mini-2024-07-18'), 'openai/gpt-4o-mini');
    assert.equal(idOf('anthropic', 'claude-sonnet-4-5-20250929'), 'anthropic/claude-sonnet-4-5');
    assert.equal(idOf('anthropic', 'claude-sonnet-4-5@20250929'), 'anthropic/claude-sonnet-4-5');
    assert.equal(idOf('anthropic', 'claude-3-5-haiku-latest'), 'anthropic/claude-3-5-haiku');
    assert.equal(idOf('mistral', 'mistral-large-latest'), 'mistral/mistral-large');
    assert.equal(idOf('gemini', 'gemini-2.5-flash-lite-preview-06-17'), 'gemini/gemini-2.5-flash-lite');
  });

  test('an exact id wins over its family', () => {
    const dated = table.lookup('openai', 'gpt-4o-2024-05-13')!;
    assert.equal(dated.id, 'openai/gpt-4o-2024-05-13');
    assert.equal(dated.price.input, 5e-6);
    assert.equal(table.lookup('openai', 'gpt-4o-2024-08-06')!.price.input, 2.5e-6);
    assert.equal(idOf('mistral', 'mistral-large-2411'), 'mistral/mistral-large-2411');
  });

  test('a suffix that is not a date is not stripped', () => {
    assert.equal(idOf('openai', 'gpt-5-13-45'), null);
    assert.equal(idOf('openai', 'gpt-5-preview'), null);
    assert.equal(idOf('openai', 'gpt-5-2025-08-07-latest'), null);
  });

  test('unknown models resolve to null', () => {
    assert.equal(table.lookup('openai', 'gpt-99'), null);
    assert.equal(table.lookup('groq', 'llama-3.3-70b-versatile'), null);
    assert.equal(table.lookup(null, 'no-such-model'), null);
    assert.equal(table.lookup('openai', ''), null);
    assert.equal(table.lookup(null, `gpt-4o${'/'.repeat(300)}`), null);
  });

  test("a provider with its own entries never borrows another provider's price", () => {
    assert.equal(table.lookup('openai', 'claude-sonnet-4-5'), null);
    assert.equal(table.lookup('anthropic', 'gpt-4o'), null);
  });

  test('provider-prefixed and unprefixed ids resolve, case-insensitively', () => {
    assert.equal(idOf(null, 'openai/gpt-5'), 'openai/gpt-5');
    assert.equal(idOf(null, 'gpt-4.1-mini'), 'openai/gpt-4.1-mini');
    assert.equal(idOf(null, 'deepseek-reasoner'), 'deepseek/deepseek-reasoner');
    assert.equal(idOf('openai', 'openai/gpt-5'), 'openai/gpt-5');
    assert.equal(idOf('OpenAI', 'GPT-4o'), 'openai/gpt-4o');
    assert.equal(idOf('gemini', 'models/gemini-2.5-pro'), 'gemini/gemini-2.5-pro');
  });

  test('reseller ids resolve by stripping the reseller prefix', () => {
    assert.equal(idOf(null, 'openrouter/anthropic/claude-sonnet-4.5'), 'anthropic/claude-sonnet-4-5');
    assert.equal(idOf('openrouter', 'anthropic/claude-haiku-4.5'), 'anthropic/claude-haiku-4-5');
    assert.equal(idOf('openrouter', 'openai/gpt-4o-2024-08-06'), 'openai/gpt-4o');
    assert.equal(idOf('openrouter', 'google/gemini-2.5-flash'), 'gemini/gemini-2.5-flash');
    assert.equal(idOf('openrouter', 'mistralai/mistral-large'), 'mistral/mistral-large');
    assert.equal(idOf('openrouter', 'meta-llama/llama-3.3-70b-instruct'), null);
  });

  test('the mock provider is priced by the model name it serves', () => {
    assert.equal(idOf('mock', 'gpt-4o-mini'), 'openai/gpt-4o-mini');
    assert.equal(idOf(null, 'mock/gpt-4o-mini'), 'openai/gpt-4o-mini');
    assert.equal(idOf('mock', 'claude-sonnet-4-5-20250929'), 'anthropic/claude-sonnet-4-5');
    assert.equal(idOf('mock', 'mock-gpt'), null);
  });

  test('repeated lookups return the same memoised match', () => {
    const first = table.lookup('openrouter', 'anthropic/claude-opus-4.5');
    assert.ok(first);
    assert.equal(table.lookup('openrouter', 'anthropic/claude-opus-4.5'), first);
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

  function problemsOf(path: string): string[] {
    try {
      loadPriceTable({ overridesFile: path });
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems;
    }
    assert.fail('expected a ConfigError');
  }

  test('adds and replaces entries, which carry the file ref', () => {
    const path = write('prices.json', {
      models: {
        'groq/llama-3.3-70b-versatile': { input_usd_per_1m: 0.59, output_usd_per_1m: 0.79 },
        'openai/gpt-4o': { input_usd_per_1m: 2, output_usd_per_1m: 8, cached_input_usd_per_1m: 1 },
      },
    });
    const t = loadPriceTable({ overridesFile: path });
    const fileRef = `file:prices.json@${sha8(path)}`;
    assert.equal(t.ref, `${table.ref}+${fileRef}`);
    assert.equal(t.size, table.size + 1);
    assert.deepEqual(t.lookup('groq', 'llama-3.3-70b-versatile'), {
      price: { input: 5.9e-7, output: 7.9e-7 },
      ref: fileRef,
      id: 'groq/llama-3.3-70b-versatile',
    });
    const replaced = t.lookup('openai', 'gpt-4o-2024-11-20')!;
    assert.equal(replaced.ref, fileRef);
    assert.deepEqual(replaced.price, { input: 2e-6, output: 8e-6, cached_input: 1e-6 });
    assert.equal(t.lookup('openai', 'gpt-4o-mini')!.ref, table.ref);
  });

  test('a YAML file works and a replaced entry re-prices its bundled aliases', () => {
    const path = write(
      'team-prices.yaml',
      ['models:', '  anthropic/claude-sonnet-4-5:', '    input_usd_per_1m: 2.4', '    output_usd_per_1m: 12', ''].join('\n'),
    );
    const t = loadPriceTable({ overridesFile: path });
    const viaAlias = t.lookup('openrouter', 'anthropic/claude-sonnet-4.5')!;
    assert.equal(viaAlias.ref, `file:team-prices.yaml@${sha8(path)}`);
    assert.deepEqual(viaAlias.price, { input: 2.4e-6, output: 1.2e-5 });
  });

  test('an unprefixed id listed by two providers needs the provider', () => {
    const path = write('azure.json', { models: { 'azure/gpt-4o-mini': { input_usd_per_1m: 0.165, output_usd_per_1m: 0.66 } } });
    const t = loadPriceTable({ overridesFile: path });
    assert.equal(t.lookup(null, 'gpt-4o-mini'), null);
    assert.equal(t.lookup('azure', 'gpt-4o-mini')!.id, 'azure/gpt-4o-mini');
    assert.equal(t.lookup('openai', 'gpt-4o-mini')!.id, 'openai/gpt-4o-mini');
  });

  test('a bad file lists every problem in one ConfigError', () => {
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
    const problems = problemsOf(path);
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

  test('alias clashes, unreadable and unparseable files are reported', () => {
    const clash = write('clash.json', {
      models: {
        'openai/x': { input_usd_per_1m: 1, output_usd_per_1m: 1, aliases: ['y'] },
        'openai/y': { input_usd_per_1m: 2, output_usd_per_1m: 2 },
      },
    });
    assert.match(problemsOf(clash).join('\n'), /aliases: "y" already names "openai\/y"/);
    assert.match(problemsOf(join(dir, 'missing.yaml')).join('\n'), /cannot read/);
    assert.match(problemsOf(write('broken.json', '{"models": ')).join('\n'), /cannot parse/);
  });
});
