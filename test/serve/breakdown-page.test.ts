// The breakdown page's table is bounded: a report with more rows than BREAKDOWN_ROWS (by user,
// 50,000 of them) shows the largest ones, says how many more there are and points to the CSV,
// while its chart still sums every row.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Report } from '../../src/report/query.ts';
import { breakdownBody, BREAKDOWN_ROWS } from '../../src/serve/pages/breakdown.ts';

function reportOfUsers(count: number): Report {
  const rows = Array.from({ length: count }, (_, i) => ({
    user: `customer_${i}`,
    requests: '1',
    errors: '0',
    prompt_tokens: '10',
    completion_tokens: '5',
    total_tokens: '15',
    spend_usd: String(count - i),
    spend_share: '0.01',
    previous_spend_usd: '0',
  }));
  const spend = String((count * (count + 1)) / 2);
  return {
    from: '2026-11-01',
    to: '2026-11-30',
    timezone: 'UTC',
    by: 'user',
    dimension: { kind: 'user' },
    labels: ['user'],
    table: { columns: Object.keys(rows[0]!), rows },
    total: { requests: String(count), errors: '0', prompt_tokens: '0', completion_tokens: '0', total_tokens: '0', spend_usd: spend },
    previous: { from: '2026-10-02', to: '2026-10-31', total: { spend_usd: '0' } },
    notes: [],
  };
}

const state = { by: 'user', from: '2026-11-01', to: '2026-11-30', then: 'model', filters: [], choices: ['tag', 'user', 'model'] };
const bodyRows = (html: string): number => (/<tbody>([\s\S]*?)<\/tbody>/.exec(html)![1]!.match(/<tr>/g) ?? []).length;

test('the breakdown page shows the largest BREAKDOWN_ROWS rows of a bigger report, says how many more and links the CSV', () => {
  const html = breakdownBody(reportOfUsers(BREAKDOWN_ROWS + 123), state);
  assert.equal(bodyRows(html), BREAKDOWN_ROWS);
  assert.ok(html.includes('customer_0<') && html.includes(`customer_${BREAKDOWN_ROWS - 1}<`));
  assert.ok(!html.includes(`customer_${BREAKDOWN_ROWS}<`), 'no row past the bound');
  assert.match(html, new RegExp(`data-more-rows="123">The largest ${BREAKDOWN_ROWS} of ${BREAKDOWN_ROWS + 123} rows; <a href="/breakdown\\.csv\\?by=user[^"]*" download>the CSV</a>`));
  // The chart's last bar still covers every row after its first ones.
  assert.match(html, new RegExp(`${BREAKDOWN_ROWS + 123 - 12} more`));
});

test('the breakdown page shows every row of a report within the bound, without the note', () => {
  const html = breakdownBody(reportOfUsers(40), state);
  assert.equal(bodyRows(html), 40);
  assert.ok(!html.includes('data-more-rows'));
});
