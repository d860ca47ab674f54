// The budgets page: each budget's window, spend, % used, projected spend at the window's end,
// blocked state and the alerts sent in the window.
import { escapeHtml } from '../../report/render/escape.ts';
import { formatPercent, formatUsd } from '../../report/render/numbers.ts';
import type { Budgets } from '../budgets.ts';

export function budgetsBody(b: Budgets): string {
  if (b.budgets.length === 0) return '<p>No budgets yet. Give a tag a budget with <code>tagspend tags new app:search --max-budget 200 --duration 1mo</code>; the next reconcile evaluates it.</p>';
  const subjectKeys = [...new Set(b.budgets.flatMap((r) => Object.keys(r.subject)))];
  const head = [...subjectKeys.map((k) => `<th>${escapeHtml(k.charAt(0).toUpperCase() + k.slice(1).replace(/_/g, ' '))}</th>`), '<th>Window</th><th class="num">Spend</th><th class="num">Budget</th><th class="num">Used</th><th class="num">Projected at reset</th><th>State</th><th>Alerts sent</th>'].join('');
  const rows = b.budgets.map((r) => {
    // A soft budget alone (no maximum) is shown as such and is never over.
    const hard = r.max_budget_usd !== '';
    const over = hard && r.projected_usd !== null && Number(r.projected_usd) > Number(r.max_budget_usd);
    const alerts = r.alerts.length === 0 ? '' : r.alerts.map((a) => `${Math.round(a.threshold * 100)}% ${escapeHtml(a.status)} ${escapeHtml(a.sent_at.slice(0, 16).replace('T', ' '))}`).join('<br>');
    return `<tr>${subjectKeys.map((k) => `<td>${escapeHtml(String(r.subject[k] ?? ''))}</td>`).join('')}<td>${escapeHtml(r.budget_duration)}: ${escapeHtml(r.window_start.slice(0, 16).replace('T', ' '))} to ${escapeHtml(r.reset_at.slice(0, 16).replace('T', ' '))} UTC</td><td class="num">${formatUsd(r.spend_usd)}</td><td class="num">${hard ? formatUsd(r.max_budget_usd, 'summary') : r.soft_budget_usd === null ? '' : `soft ${formatUsd(r.soft_budget_usd, 'summary')}`}</td><td class="num">${hard ? formatPercent(r.used_percent || '0') : ''}</td><td class="num${over ? ' up' : ''}">${r.projected_usd === null ? '' : formatUsd(r.projected_usd, 'summary')}</td><td>${r.blocked ? '<span class="blocked">blocked</span>' : 'open'}</td><td>${alerts}</td></tr>`;
  });
  return `<p>As evaluated by the budgets job at ${escapeHtml((b.evaluated_at ?? '').slice(0, 16).replace('T', ' '))} UTC; the projection assumes the rest of the window spends at the rate so far.</p>
<table data-table="budgets"><thead><tr>${head}</tr></thead><tbody>
${rows.join('\n')}
</tbody></table>`;
}
