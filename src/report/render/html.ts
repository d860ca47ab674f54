// The allocation report as one self-contained HTML page (inline CSS, no script, nothing fetched)
// that finance can open from a mail attachment or a shared folder. Every value is escaped: tags,
// users and metadata values come from API clients.
import { cellText, numericColumns } from './format.ts';
import type { Report } from '../query.ts';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Escaped prose where `code` spans (the notes use them) become <code>. */
function prose(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function shareBar(share: string): string {
  const pct = Math.max(0, Math.min(100, Number(share)));
  if (share === '' || !Number.isFinite(pct)) return '<td class="num"></td>';
  return `<td class="num share"><span class="bar" style="width:${pct.toFixed(2)}%"></span>${escapeHtml(share)}%</td>`;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.3em}table{border-collapse:collapse}th,td{padding:.3em .7em;border-bottom:1px solid #ddd;text-align:left}
th{background:#f4f4f4}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.share{position:relative;min-width:7em}.bar{position:absolute;left:0;top:20%;height:60%;background:#cfe3f7;z-index:-1}
tfoot td{font-weight:600;border-top:2px solid #999}code{background:#f4f4f4;padding:0 .2em}`;

export function renderReportHtml(report: Report): string {
  const { columns, rows } = report.table;
  const numeric = numericColumns(report.table);
  const head = columns.map((c, i) => `<th${numeric[i] ? ' class="num"' : ''}>${escapeHtml(c)}</th>`).join('');
  const body = rows
    .map((r) => {
      const cells = columns.map((c, i) => {
        const text = cellText(r[c]);
        if (c === 'spend_share') return shareBar(text);
        return `<td${numeric[i] ? ' class="num"' : ''}>${escapeHtml(text)}</td>`;
      });
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  const t = report.total;
  const foot = columns
    .map((c, i) => {
      if (i === 0) return '<td>total</td>';
      const v = c === 'spend_share' ? '' : t[c];
      return `<td${numeric[i] ? ' class="num"' : ''}>${v === undefined || v === null ? '' : escapeHtml(cellText(v))}</td>`;
    })
    .join('');
  const title = `Spend by ${report.by}, ${report.from} to ${report.to} (${report.timezone})`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p>Total: <strong>${escapeHtml(String(t.spend_usd ?? '0'))} USD</strong> over ${escapeHtml(String(t.requests ?? 0))} requests and ${escapeHtml(String(t.total_tokens ?? 0))} tokens.</p>
<table>
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>
<tfoot><tr>${foot}</tr></tfoot>
</table>
${report.notes.length > 0 ? `<ul>\n${report.notes.map((n) => `<li>${prose(n)}</li>`).join('\n')}\n</ul>\n` : ''}</body>
</html>
`;
}
