// The breakdown page: a report by any dimension for any period, as a chart and a table with the
// change against the period before; a row's label drills into it (a team -> its apps -> their
// users), each row links to its requests, and every table downloads as CSV.
import type { Dimension } from '../../report/dimensions.ts';
import type { DrillFilter } from '../../report/drill.ts';
import type { Report } from '../../report/query.ts';
import { escapeHtml } from '../../report/render/escape.ts';
import { htmlCell, prose, reportChart, summaryHtml } from '../../report/render/html.ts';
import { reportView } from '../../report/render/view.ts';
import { filterText } from '../params.ts';
import { query } from './layout.ts';

export interface BreakdownState {
  by: string;
  from: string;
  to: string;
  /** The dimension a click on a row drills into. */
  then: string;
  filters: readonly DrillFilter[];
  /** Dimensions to offer: tag, each tag key, user, model, key, and metadata fields seen. */
  choices: readonly string[];
}

/** The requests page's filter for the row `value` of a report by `dimension`. */
export function requestsFilter(dimension: Dimension, value: string): [string, string] {
  switch (dimension.kind) {
    case 'tag':
      return ['tag', value];
    case 'tag_key':
      return ['tag', `${dimension.key}:${value}`];
    case 'user':
      return ['user', value];
    case 'key':
      return ['key', value];
    case 'meta':
      return ['meta', `${dimension.key}=${value}`];
    case 'model':
      return ['model', value];
  }
}

/** Rows the page's table shows (the largest; a report by user can have 50,000: all are in the CSV). */
export const BREAKDOWN_ROWS = 500;

export function breakdownBody(report: Report, s: BreakdownState): string {
  const all = report.table.rows.length;
  // The view (formatted cells) of the shown rows only; the chart still sums every row.
  const view = reportView(all > BREAKDOWN_ROWS ? { ...report, table: { ...report.table, rows: report.table.rows.slice(0, BREAKDOWN_ROWS) } } : report);
  const base = (filters: readonly DrillFilter[], by = s.by): [string, string][] => [
    ['by', by],
    ...filters.map((f): [string, string] => ['f', filterText(f)]),
    ['from', s.from],
    ['to', s.to],
    ['then', s.then],
  ];
  const opts = (selected: string): string =>
    [...new Set([...s.choices, selected])].map((c) => `<option${c === selected ? ' selected' : ''}>${escapeHtml(c)}</option>`).join('');
  const hidden = s.filters.map((f) => `<input type="hidden" name="f" value="${escapeHtml(filterText(f))}">`).join('');
  const form = `<form class="filters" method="get" action="/breakdown">${hidden}<label>By<select name="by">${opts(s.by)}</select></label><label>From<input type="date" name="from" value="${s.from}"></label><label>To<input type="date" name="to" value="${s.to}"></label><label>Click a row to see its<select name="then">${opts(s.then)}</select></label><button type="submit">Show</button></form>`;
  const crumbs = s.filters.length === 0 ? '' : `<p class="crumbs">Inside: ${s.filters
    .map((f, i) => `<a href="/breakdown${query(base(s.filters.slice(0, i), f.dimension.kind === 'tag_key' ? `tag:${f.dimension.key}` : s.by))}">${escapeHtml(filterText(f))}</a>`)
    .join(' › ')} · <a href="/breakdown${query(base([]))}">whole</a></p>`;
  const canDrill = s.filters.length < 3 && report.labels.length === 1;
  // Each row of a report without drill-down filters links to its requests.
  const withRequests = s.filters.length === 0 && report.labels.length === 1;
  const head = view.columns.map((c) => `<th${c.numeric ? ' class="num"' : ''}>${escapeHtml(c.label)}</th>`).join('') + (withRequests ? '<th></th>' : '');
  const rows = view.rows
    .map((cells, r) => {
      const tds = cells.map((cell, i) => {
        const col = view.columns[i]!;
        if (i === 0 && canDrill && !cell.sentinel) {
          const value = String(report.table.rows[r]![report.labels[0]!]);
          const next: DrillFilter = { dimension: report.dimension, value };
          return `<td><a href="/breakdown${query(base([...s.filters, next], s.then))}">${escapeHtml(cell.text)}</a></td>`;
        }
        return htmlCell(cell, col);
      });
      if (withRequests) {
        const raw = report.table.rows[r]![report.labels[0]!];
        const filter = raw === null || raw === undefined || cells[0]!.sentinel ? null : requestsFilter(report.dimension, String(raw));
        tds.push(filter === null ? '<td></td>' : `<td><a data-requests href="/requests${query([filter, ['from', s.from], ['to', s.to]])}">requests</a></td>`);
      }
      return `<tr>${tds.join('')}</tr>`;
    })
    .join('\n');
  const foot = view.total.map((cell, i) => `<td${view.columns[i]!.numeric ? ' class="num"' : ''} data-total="${escapeHtml(view.columns[i]!.key)}">${escapeHtml(cell.text)}</td>`).join('') + (withRequests ? '<td></td>' : '');
  const csv = `/breakdown.csv${query(base(s.filters))}`;
  const chart = report.table.rows.length > 0 ? `<figure data-chart="breakdown">${reportChart(report, view)}</figure>` : '<p>No spend in this period.</p>';
  return `${form}
${crumbs}
<p class="summary">${summaryHtml(view)} <a href="${escapeHtml(csv)}" download>Download CSV</a></p>
${chart}
<table data-table="breakdown"><thead><tr>${head}</tr></thead><tbody>
${rows}
</tbody><tfoot><tr>${foot}</tr></tfoot></table>
${all > BREAKDOWN_ROWS ? `<p class="more" data-more-rows="${all - BREAKDOWN_ROWS}">The largest ${BREAKDOWN_ROWS} of ${all} rows; <a href="${escapeHtml(csv)}" download>the CSV</a> has them all.</p>\n` : ''}${report.notes.length ? `<ul>${report.notes.map((n) => `<li>${prose(n)}</li>`).join('')}</ul>` : ''}`;
}
