// The overview page: this month against last month with a projection, the daily stacked chart of
// the top values of a tag key, the movers, and the untagged share. Figures carry data-figure
// attributes naming the GET /api/overview field they show.
import { stackedDailyChart } from '../../report/render/charts.ts';
import { escapeHtml } from '../../report/render/escape.ts';
import { changePercent, formatPercent, formatUsd } from '../../report/render/numbers.ts';
import type { Overview } from '../overview.ts';
import { card, query } from './layout.ts';

const UNTAGGED = '(untagged)';

function name(value: string | null): { text: string; html: string } {
  return value === null ? { text: UNTAGGED, html: `<em class="none">${UNTAGGED}</em>` } : { text: value, html: escapeHtml(value) };
}

export function overviewBody(o: Overview): string {
  const m = o.month;
  const change = changePercent(m.spend_usd, m.last_month_same_days.spend_usd);
  const cards = [
    card(`This month (${m.from} to ${m.to})`, formatUsd(m.spend_usd, 'summary'), 'month.spend_usd'),
    card(`Last month, same days (to ${m.last_month_same_days.to})`, formatUsd(m.last_month_same_days.spend_usd, 'summary'), 'month.last_month_same_days.spend_usd', change ? `<div class="label">change <strong>${escapeHtml(change)}</strong></div>` : ''),
    card('Projected to month end', m.projected_usd === null ? 'n/a' : formatUsd(m.projected_usd, 'summary'), 'month.projected_usd'),
    card(`Last month (${m.last_month.from.slice(0, 7)})`, formatUsd(m.last_month.spend_usd, 'summary'), 'month.last_month.spend_usd'),
    card(`No tags at all (last ${o.period.days} days)`, formatPercent(o.untagged.no_tags_share || '0'), 'untagged.no_tags_share'),
  ];
  if (o.tag_key !== null) cards.push(card(`Without a ${o.tag_key} tag`, formatPercent(o.untagged.without_key_share || '0'), 'untagged.without_key_share'));

  const options = o.tag_keys.map((k) => `<option${k === o.tag_key ? ' selected' : ''}>${escapeHtml(k)}</option>`).join('');
  const form = `<form class="filters" method="get" action="/"><label>Tag key<select name="key">${options}</select></label><label>Days<input type="number" name="days" min="7" max="366" value="${o.period.days}"></label><button type="submit">Show</button></form>`;

  const title = o.tag_key === null ? `Daily spend, ${o.period.from} to ${o.period.to}` : `Daily spend by ${o.tag_key}, top ${o.daily.series.filter((s) => s.value !== null && !s.other).length}, ${o.period.from} to ${o.period.to}`;
  const chart = stackedDailyChart(title, {
    days: o.daily.days,
    series: o.daily.series.map((s) => ({ name: name(s.value).text, sentinel: s.value === null, other: s.other ?? false, values: s.daily_usd.map(Number) })),
    format: (v) => formatUsd(v.toFixed(10), v >= 1 || v === 0 ? 'summary' : 'cell'),
  });

  const breakdownLink = (value: string | null): string =>
    value === null || o.tag_key === null ? name(value).html : `<a href="/breakdown${query([['by', 'user'], ['f', `tag:${o.tag_key}=${value}`], ['from', o.period.from], ['to', o.period.to]])}">${escapeHtml(value)}</a>`;
  const movers = o.movers.length === 0
    ? '<p>No change against the previous period.</p>'
    : `<table data-table="movers"><thead><tr><th>${escapeHtml(o.tag_key ?? 'Tag')}</th><th class="num">Last ${o.period.days} days</th><th class="num">Days before</th><th class="num">Change</th><th class="num"></th></tr></thead><tbody>
${o.movers.map((mv) => `<tr><td>${breakdownLink(mv.value)}</td><td class="num">${formatUsd(mv.spend_usd)}</td><td class="num">${formatUsd(mv.previous_spend_usd)}</td><td class="num${mv.change_usd.startsWith('-') ? ' down' : ' up'}">${mv.change_usd.startsWith('-') ? '' : '+'}${formatUsd(mv.change_usd)}</td><td class="num">${escapeHtml(changePercent(mv.spend_usd, mv.previous_spend_usd))}</td></tr>`).join('\n')}
</tbody></table>`;
  return `<div class="cards">${cards.join('')}</div>
${form}
<figure data-chart="daily">${chart}</figure>
<h2>Top movers against the ${o.period.days} days before</h2>
${movers}
<p><a href="/breakdown${query([['by', o.tag_key ? `tag:${o.tag_key}` : 'tag'], ['from', o.period.from], ['to', o.period.to]])}">Breakdown of these ${o.period.days} days</a></p>`;
}
