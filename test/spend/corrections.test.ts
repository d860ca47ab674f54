// The bundled corrections exist only where @pydantic/genai-prices is wrong or missing. Once an
// upgrade of the library agrees with an entry (or knows a missing model at that price), this
// test names the entry so it can be removed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { bundledProviders, bundledVersion, GenaiPriceSource } from '../../src/spend/genai-prices.ts';
import { loadPriceTable } from '../../src/spend/pricing.ts';

const corrections = JSON.parse(readFileSync(new URL('../../src/spend/price-corrections.json', import.meta.url), 'utf8')) as {
  models: Record<string, unknown>;
};
const library = new GenaiPriceSource(await bundledProviders(), `genai-prices:${bundledVersion()}`);
const table = await loadPriceTable();
const NOW = Date.parse('2026-11-29T12:00:00Z');

test('every bundled correction differs from the genai-prices data it corrects', () => {
  const redundant: string[] = [];
  for (const id of Object.keys(corrections.models)) {
    const slash = id.indexOf('/');
    const ours = table.lookup(id.slice(0, slash), id.slice(slash + 1), NOW);
    assert.ok(ours, `${id} resolves`);
    assert.match(ours.ref, /^tagspend:/, `${id} is priced by the correction`);
    const theirs = library.find(id.slice(0, slash), id.slice(slash + 1), NOW);
    if (theirs && JSON.stringify(theirs.match.price) === JSON.stringify(ours.price)) redundant.push(id);
  }
  assert.deepEqual(redundant, [], 'the library now agrees with these corrections: remove them from src/spend/price-corrections.json');
});

test('genai-prices 0.1.8 matches claude-sonnet-5-5 to Sonnet 5 (cache reads at $0.20, not $0.10) and knows no Haiku 5.5', () => {
  const sonnet = library.find('anthropic', 'claude-sonnet-5-5', NOW);
  assert.equal(sonnet?.match.id, 'anthropic/claude-sonnet-5');
  assert.equal(sonnet?.match.price.cached_input, 2e-7);
  assert.equal(table.lookup('anthropic', 'claude-sonnet-5-5', NOW)?.price.cached_input, 1e-7);
  assert.equal(library.find('anthropic', 'claude-haiku-5-5', NOW), null);
});
