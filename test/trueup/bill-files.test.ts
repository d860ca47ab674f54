import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseAnthropicCostReport } from '../../src/trueup/anthropic.ts';
import { parseBillCsv } from '../../src/trueup/csv.ts';
import { formatUnits, parseUnits, unitsOfNumber } from '../../src/trueup/money.ts';
import { modelOfLineItem, parseOpenAICosts } from '../../src/trueup/openai.ts';
import { parseBillFiles } from '../../src/trueup/parse.ts';
import { anthropicPage, openaiPage, pretty } from '../helpers/bills.ts';

const lineOf = (text: string, needle: string): number => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('bill amounts', () => {
  test('decimal text becomes exact 1e-10 USD units, rounded half to even only past 10 decimals', () => {
    assert.equal(parseUnits('0.8958740000000000'), 8_958_740_000n);
    assert.equal(parseUnits('123.78912', 2), 12_378_912_000n, 'cents to dollars');
    assert.equal(parseUnits('-3.5'), -35_000_000_000n);
    assert.equal(parseUnits('.5'), 5_000_000_000n);
    assert.equal(parseUnits('0.00000000005'), 0n);
    assert.equal(parseUnits('0.00000000015'), 2n);
    assert.equal(parseUnits('0.000000000151'), 2n);
    for (const bad of ['', '1e3', '1,5', '$1', '1.2.3', 'abc', '--1']) assert.equal(parseUnits(bad), null, bad);
    assert.equal(unitsOfNumber(1e-7), 1_000n);
    assert.equal(unitsOfNumber(0.06), 600_000_000n);
    assert.equal(formatUnits(-35_000_000_000n), '-3.5000000000');
  });
});

describe('OpenAI Costs API pages', () => {
  test('each result is a line of its UTC day (at the line its object opens), with the amount exactly as written', () => {
    const text = pretty(openaiPage([
      { day: '2026-11-02', results: [{ usd: '0.8958740000000000' as unknown as number, line_item: 'gpt-4o-2024-08-06, input' }, { usd: 1e-7, line_item: null, project_id: 'proj_1' }] },
    ])).replace('"0.8958740000000000"', '0.8958740000000000');
    const parsed = parseOpenAICosts(text, 'p.json');
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(parsed.lines.map((l) => [l.day, l.model, l.description, formatUnits(l.amountUnits), l.lineKey, l.sourceLine]), [
      ['2026-11-02', 'gpt-4o-2024-08-06', 'gpt-4o-2024-08-06, input', '0.8958740000', '["gpt-4o-2024-08-06, input",null,null]', lineOf(text, '"object": "organization.costs.result"') - 1],
      ['2026-11-02', null, null, '0.0000001000', '[null,"proj_1",null]', text.split('\n').findIndex((l, i) => i > 10 && l.includes('"object": "organization.costs.result"'))],
    ]);
  });

  test('line items name a model only when they start with a model id', () => {
    assert.equal(modelOfLineItem('gpt-4o-2024-08-06, input'), 'gpt-4o-2024-08-06');
    assert.equal(modelOfLineItem('gpt-4'), 'gpt-4');
    assert.equal(modelOfLineItem('ft:gpt-4o-mini:acme::abc, training'), 'ft:gpt-4o-mini:acme::abc');
    assert.equal(modelOfLineItem('Web search tool calls'), null);
    assert.equal(modelOfLineItem(null), null);
  });

  test('a bucket list named `result` (the published OpenAPI schema) is read like `results`', () => {
    const page = openaiPage([{ day: '2026-11-02', results: [{ usd: 2 }] }]) as { data: Record<string, unknown>[] };
    page.data[0]!.result = page.data[0]!.results;
    delete page.data[0]!.results;
    assert.equal(parseOpenAICosts(JSON.stringify(page), 'p.json').lines.length, 1);
  });

  test('problems name the line and the field: wrong bucket width, bad amount, foreign currency, a usage page, bad JSON', () => {
    const page = openaiPage([{ day: '2026-11-02', results: [{ usd: 'n/a' as unknown as number }, { usd: 1, currency: 'eur' }] }]) as { data: Record<string, unknown>[] };
    page.data.push({ object: 'bucket', start_time: 1_762_041_600, end_time: 1_762_041_600 + 3600, results: [] });
    page.data.push({ object: 'bucket', start_time: 1_762_128_000, end_time: 1_762_128_000 + 86_400, results: [{ object: 'organization.usage.completions.result', input_tokens: 5 }] });
    const text = pretty(page);
    const { problems, lines } = parseOpenAICosts(text, 'p.json');
    assert.equal(lines.length, 0);
    assert.deepEqual(problems.map((p) => [p.line, p.reason.split(':')[0]]), [
      [lineOf(text, '"value": "n/a"'), 'data[0].results[0].amount.value'],
      [lineOf(text, '"currency": "eur"'), 'data[0].results[1].amount.currency'],
      [lineOf(text, `"end_time": ${1_762_041_600 + 3600}`), 'data[1].end_time'],
      [lineOf(text, '"organization.usage.completions.result"'), 'data[2].results[0].object'],
    ]);
    const broken = '{\n  "object": "page",\n  "data": [\n    {"start_time": 1,}\n  ]\n}\n';
    assert.deepEqual(parseOpenAICosts(broken, 'b.json').problems, [{ file: 'b.json', line: 4, reason: `not valid JSON: expected a property name, found "}"` }]);
    assert.match(parseOpenAICosts('{"data": 3}', 'x.json').problems[0]!.reason, /not an OpenAI Costs API page/);
  });
});

describe('Anthropic cost report pages', () => {
  test('amounts are decimal strings of cents; grouped results carry their model', () => {
    const text = pretty(anthropicPage([
      { day: '2026-11-03', results: [
        { cents: '123.78912', model: 'claude-sonnet-4-5-20250929', description: 'Claude Sonnet 4.5 Usage - Input Tokens', token_type: 'uncached_input_tokens' },
        { cents: '5', cost_type: 'web_search', description: 'Web Search Usage' },
        { cents: '40.5' },
      ] },
    ]));
    const parsed = parseAnthropicCostReport(text, 'a.json');
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(parsed.lines.map((l) => [l.day, l.model, l.description, formatUnits(l.amountUnits)]), [
      ['2026-11-03', 'claude-sonnet-4-5-20250929', 'Claude Sonnet 4.5 Usage - Input Tokens', '1.2378912000'],
      ['2026-11-03', null, 'Web Search Usage', '0.0500000000'],
      ['2026-11-03', null, null, '0.4050000000'],
    ]);
    assert.equal(new Set(parsed.lines.map((l) => l.lineKey)).size, 3);
  });

  test('problems: a bucket that is not one UTC day, an amount that is not a decimal, another currency', () => {
    const page = anthropicPage([{ day: '2026-11-03', results: [{ cents: '12,5' }] }]) as { data: Record<string, unknown>[] };
    page.data.push({ starting_at: '2026-11-04T05:00:00Z', ending_at: '2026-11-05T05:00:00Z', results: [] });
    page.data.push({ starting_at: '2026-11-05T00:00:00Z', ending_at: '2026-11-06T00:00:00Z', results: [{ currency: 'EUR', amount: '1' }] });
    const text = pretty(page);
    const { problems } = parseAnthropicCostReport(text, 'a.json');
    assert.deepEqual(problems.map((p) => [p.line, p.reason]), [
      [lineOf(text, '"amount": "12,5"'), 'data[0].results[0].amount: must be a decimal string of cents (e.g. "123.45" for $1.2345), got "12,5"'],
      [lineOf(text, '"starting_at": "2026-11-04T05:00:00Z"'), 'data[1].starting_at: must be a UTC midnight'],
      [lineOf(text, '"currency": "EUR"'), 'data[2].results[0].currency: only USD bills can be imported, got "EUR"'],
    ]);
  });
});

describe('the generic bill CSV', () => {
  test('columns in any order, optional model and description, quoted fields, CRLF and a BOM', () => {
    const text = '\ufeffAmount_USD,Date,Provider,Description\r\n12.40,2026-11-04,Mistral,"Invoice 42, November"\r\n\r\n"-1.5",2026-11-04,mistral,"credit\nfor an outage"\r\n7,2026-11-05,deepseek,\r\n';
    const parsed = parseBillCsv(text, 'inv.csv');
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(parsed.lines.map((l) => [l.sourceLine, l.day, l.provider, l.model, l.description, formatUnits(l.amountUnits)]), [
      [2, '2026-11-04', 'mistral', null, 'Invoice 42, November', '12.4000000000'],
      [4, '2026-11-04', 'mistral', null, 'credit\nfor an outage', '-1.5000000000'],
      [6, '2026-11-05', 'deepseek', null, null, '7.0000000000'],
    ]);
  });

  test('problems name the line: header, field count, date, provider, amount, an open quote', () => {
    assert.deepEqual(parseBillCsv('date,provider,amount,usd\n', 'x.csv').problems.map((p) => p.reason), [
      'unknown column "amount"; the columns are date, provider, model, description, amount_usd',
      'unknown column "usd"; the columns are date, provider, model, description, amount_usd',
      'missing column amount_usd (the header must name date, provider, amount_usd)',
    ]);
    const text = 'date,provider,model,amount_usd\n2026-11-04,mistral,m,1\n2026-11-04,mistral,1\n11/04/2026,mistral,m,1\n2026-11-04,Mis tral,m,1\n2026-11-04,mistral,m,1e3\n2026-11-04,mistral,"m,1\n';
    assert.deepEqual(parseBillCsv(text, 'x.csv').problems.map((p) => [p.line, p.reason.split(',')[0]]), [[7, 'a quoted field is never closed']]);
    const closed = text.replace('"m,1\n', '"m",1\n');
    assert.deepEqual(parseBillCsv(closed, 'x.csv').problems.map((p) => [p.line, p.reason.replace(/,.*$/, '')]), [
      [3, 'expected 4 fields'],
      [4, 'date must be YYYY-MM-DD'],
      [5, 'provider must be a provider name as spend records carry it (e.g. openai'],
      [6, 'amount_usd must be a decimal number of dollars (e.g. 12.40 or -3.5)'],
    ]);
  });

  test('a line repeated in one import, in the same or another file, is a problem naming both places', () => {
    const a = 'date,provider,amount_usd\n2026-11-04,mistral,1\n';
    const b = 'date,provider,amount_usd\n2026-11-05,mistral,1\n2026-11-04,mistral,2\n';
    const parsed = parseBillFiles('csv', [{ name: 'a.csv', text: a }, { name: 'b.csv', text: b }]);
    assert.deepEqual(parsed.problems.map((p) => `${p.file}:${p.line}: ${p.reason.slice(0, 40)}`), ['b.csv:3: the same bill line as a.csv:2 (provider ']);
  });
});
