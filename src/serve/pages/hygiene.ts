// The Hygiene page: `tagspend report --by hygiene` for a chosen period (the same report, built by
// src/report/hygiene.ts), one table per check, spend and counts formatted as on the other pages.
import { HYGIENE_CHECKS, HYGIENE_TITLES, type HygieneCheck, type HygieneReport } from '../../report/hygiene.ts';
import { escapeHtml } from '../../report/render/escape.ts';
import { prose } from '../../report/render/html.ts';
import { formatCount, formatPercent, formatUsd } from '../../report/render/numbers.ts';
import { query } from './layout.ts';

/** Checks whose findings are a share of a scope's spend (the others have no Share column). */
const WITH_SHARE: ReadonlySet<HygieneCheck> = new Set(['untagged_share', 'missing_required_key']);

const SUBJECT: Partial<Record<HygieneCheck, string>> = { untagged_share: 'Tag key', missing_required_key: 'API key' };

export function hygieneBody(report: HygieneReport): string {
  const form = `<form class="filters" method="get" action="/hygiene"><label>From<input type="date" name="from" value="${report.from}"></label><label>To<input type="date" name="to" value="${report.to}"></label><button type="submit">Show</button></form>`;
  const sections = HYGIENE_CHECKS.map((check) => {
    const findings = report.findings.filter((f) => f.check === check);
    const share = WITH_SHARE.has(check);
    const heading = `<h2>${escapeHtml(HYGIENE_TITLES[check])} <small data-count>(${findings.length})</small></h2>`;
    if (findings.length === 0) return `<section data-check="${check}">${heading}<p>None.</p></section>`;
    const rows = findings.map(
      (f) =>
        `<tr><td>${escapeHtml(f.subject)}</td><td>${escapeHtml(f.detail)}</td><td class="num">${formatCount(String(f.requests))}</td><td class="num" data-spend>${formatUsd(String(f.spend_usd))}</td>${share ? `<td class="num">${formatPercent(f.share)}</td>` : ''}</tr>`,
    );
    return `<section data-check="${check}">${heading}
<table data-table="hygiene-${check}"><thead><tr><th>${SUBJECT[check] ?? 'Tag'}</th><th>Detail</th><th class="num">Requests</th><th class="num">Spend</th>${share ? '<th class="num">Share</th>' : ''}</tr></thead><tbody>
${rows.join('\n')}
</tbody></table></section>`;
  });
  const json = `/api/hygiene${query([['from', report.from], ['to', report.to]])}`;
  return `${form}
<p class="summary">${formatCount(report.findings.length)} findings from ${escapeHtml(report.from)} to ${escapeHtml(report.to)}: the fixes that make an allocation trustworthy. The same report as <code>tagspend report --by hygiene</code>; <a href="${escapeHtml(json)}">as JSON</a>.</p>
${sections.join('\n')}
<ul>${report.notes.map((n) => `<li>${prose(n)}</li>`).join('')}</ul>`;
}
