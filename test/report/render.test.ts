// Report output for people and for machines: values clients chose are shown as text in every
// format (issue 9, item 13), money is dollars and cents for readers and exact for machines.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDimension } from '../../src/report/dimensions.ts';
import { renderReport, type Report } from '../../src/report/query.ts';
import { toCsv, toMarkdown, toTextTable } from '../../src/report/render/format.ts';
import { changePercent, formatCount, formatUsd, roundDecimal } from '../../src/report/render/numbers.ts';

function report(by: string, rows: Record<string, string | null>[]): Report {
  const dimension = parseDimension(by);
  const label = dimension.kind === 'tag_key' || dimension.kind === 'meta' ? dimension.key : dimension.kind;
  return {
    from: '2026-11-01',
    to: '2026-11-30',
    timezone: 'UTC',
    by: by.replace(':', '-'),
    dimension,
    labels: [label],
    table: {
      columns: [label, 'requests', 'errors', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'spend_usd', 'spend_share', 'previous_spend_usd'],
      rows: rows.map((r) => ({ requests: '1', errors: '0', prompt_tokens: '10', completion_tokens: '5', total_tokens: '15', spend_usd: '1.5', spend_share: '50.00', previous_spend_usd: '1', ...r })),
    },
    total: { requests: '2', total_tokens: '30', spend_usd: '3' },
    previous: { from: '2026-10-02', to: '2026-10-31', total: { spend_usd: '2' } },
    notes: [],
  };
}

const FORMULAS = ['=HYPERLINK("http://evil.example","x")', '+1+cmd|/c calc', '-2+3', '@SUM(A1:A2)', '\t=1', '\r=1'];

describe('report output injection', () => {
  test('csv: cells a spreadsheet would run as formulas get a leading apostrophe; plain numbers stay numbers', () => {
    const csv = toCsv({ columns: ['v'], rows: [...FORMULAS.map((v) => ({ v })), { v: '-12.5' }, { v: '+3' }, { v: 'plain' }] });
    const lines = csv.split('\r\n').slice(1, -1);
    assert.deepEqual(lines.slice(0, 4), [
      `"'=HYPERLINK(""http://evil.example"",""x"")"`,
      `"'+1+cmd|/c calc"`,
      `"'-2+3"`,
      `"'@SUM(A1:A2)"`,
    ]);
    assert.equal(lines[4], `"'\t=1"`);
    assert.ok(csv.includes(`"'\r=1"`));
    assert.ok(csv.endsWith('-12.5\r\n+3\r\nplain\r\n'), csv);
  });

  test('markdown: no HTML, link, image, autolink or emphasis survives, and | or CR cannot break a row', () => {
    const md = toMarkdown({
      columns: ['v'],
      rows: [
        { v: '<script>alert(1)</script>' },
        { v: '[click](javascript:alert(1))' },
        { v: '![x](http://evil.example/t.png)' },
        { v: 'https://evil.example' },
        { v: 'a | b\r| c | d' },
        { v: '*bold* _it_ `code`' },
      ],
    });
    const lines = md.trimEnd().split('\n');
    assert.equal(lines.length, 8, 'one line per row, whatever the values hold');
    for (const line of lines.slice(2)) assert.equal(line.replace(/\\\|/g, '').split('|').length, 3, line);
    assert.doesNotMatch(md, /<script|<\/script/);
    assert.match(md, /&lt;script&gt;/);
    assert.doesNotMatch(md, /[^\\]\[click[^\\]*\]\(/, 'no link syntax');
    assert.match(md, /!\\\[x\\\]\(http\\:\/\/evil/);
    assert.match(md, /\| https\\:\/\/evil.example \|/);
    assert.match(md, /\\\*bold\\\* \\_it\\_ \\`code\\`/);
  });

  test('terminal: ESC and other control characters are shown as visible escapes, never sent raw', () => {
    const text = toTextTable({ columns: ['v'], rows: [{ v: 'red\x1b[31m!\x1b]0;title\x07\u009b2J\u202eevil' }] });
    assert.doesNotMatch(text, /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]/);
    assert.ok(text.includes('red\\x1b[31m!\\x1b]0;title\\x07\\x9b2J\\u202eevil'), text);
    const rendered = renderReport(report('tag:team', [{ team: '\x1b[2Jwiped' }]), 'table');
    assert.doesNotMatch(rendered, /\x1b/);
    assert.ok(rendered.includes('\\x1b[2Jwiped'));
  });

  test('sentinels cannot be forged: a real value "(untagged)" differs from the row without a value in every format', () => {
    const r = report('tag:team', [{ team: '(untagged)' }, { team: null }, { team: "'(untagged)" }, { team: '"(untagged)"' }]);
    const csv = renderReport(r, 'csv').split('\r\n');
    assert.deepEqual(csv.slice(1, 5).map((l) => l.split(',')[0]), [`"'(untagged)"`, '(untagged)', `"''(untagged)"`, `"""(untagged)"""`]);
    const json = JSON.parse(renderReport(r, 'json'));
    assert.deepEqual(json.rows.map((x: { team: string | null }) => x.team), ['(untagged)', null, "'(untagged)", '"(untagged)"']);
    const md = renderReport(r, 'md');
    assert.match(md, /^\| \(untagged\) \|/m, 'the real value is plain text');
    assert.match(md, /^\| _\(untagged\)_ \|/m, 'the sentinel is emphasised, which escaped text can never be');
    const table = renderReport(r, 'table').split('\n');
    const cells = table.filter((l) => /untagged/.test(l)).map((l) => l.split(/\s{2,}/)[0]);
    assert.deepEqual(cells, ['"(untagged)"', '(untagged)', "'(untagged)", '"\\"(untagged)\\""']);
    const html = renderReport(r, 'html');
    assert.ok(html.includes('<td>(untagged)</td>'));
    assert.ok(html.includes('<td><em class="none">(untagged)</em></td>'));
    assert.equal(html.match(/<em class="none">/g)!.length, 1);
  });

  test('html stays fully escaped: markup in a value is text in the table, the chart and the title', () => {
    const hostile = '<img src=x onerror=alert(1)>"\'&';
    const html = renderReport(report(`tag:${hostile}`, [{ [hostile]: hostile }]), 'html');
    assert.doesNotMatch(html, /<img|onerror=alert\(1\)>/);
    assert.ok(html.includes('&#60;img src=x onerror=alert(1)&#62;&#34;&#39;&#38;'));
    assert.match(html, /<title>Spend by &#60;img/);
  });
});

describe('numbers for people', () => {
  test('money: cents in summaries, tiny amounts keep two significant digits, rounding is exact', () => {
    assert.equal(formatUsd('1234.565', 'summary'), '$1,234.57');
    assert.equal(formatUsd('0.50914875'), '$0.51');
    assert.equal(formatUsd('1.464384'), '$1.46');
    assert.equal(formatUsd('0.000415'), '$0.00042');
    assert.equal(formatUsd('0.000415', 'summary'), '$0.00');
    assert.equal(formatUsd('0'), '$0.00');
    assert.equal(formatUsd('-2.005'), '-$2.01');
    assert.equal(roundDecimal('0.0049999999', 2), '0.00');
    assert.equal(roundDecimal('0.005', 2), '0.01');
    assert.equal(formatCount('1234567'), '1,234,567');
    assert.equal(formatCount('12.333333'), '12.33');
  });

  test('change against the previous period', () => {
    assert.equal(changePercent('110', '100'), '+10.0%');
    assert.equal(changePercent('90', '100'), '-10.0%');
    assert.equal(changePercent('1', '3'), '-66.7%');
    assert.equal(changePercent('5', '0'), 'new');
    assert.equal(changePercent('0', '0'), '');
  });
});
