// The dashboard's page frame: navigation, the data's freshness on every page, inline CSS. No
// script and nothing fetched: every chart is inline SVG drawn on the server, every value escaped.
import { escapeHtml } from '../../report/render/escape.ts';
import { REPORT_STYLE } from '../../report/render/html.ts';
import type { Freshness } from '../freshness.ts';

const NAV = [
  ['/', 'Overview'],
  ['/breakdown', 'Breakdown'],
  ['/budgets', 'Budgets'],
  ['/requests', 'Requests'],
  ['/hygiene', 'Hygiene'],
] as const;

const STYLE = `${REPORT_STYLE}
body{margin:0;max-width:none}header{background:#1f2937;color:#fff;padding:.6em 2em;display:flex;gap:2em;align-items:center;flex-wrap:wrap}
header a{color:#d1d5db;text-decoration:none}header a.on{color:#fff;font-weight:600}header .brand{font-weight:700;color:#fff}
.fresh{margin-left:auto;font-size:.85em;color:#d1d5db}.fresh.stale{color:#fca5a5}main{padding:1em 2em 3em;max-width:1150px}
.cards{display:flex;gap:1em;flex-wrap:wrap;margin:1em 0}.card{border:1px solid #e5e7eb;border-radius:6px;padding:.7em 1em;min-width:11em}
.card .label{color:#555;font-size:.85em}.card .value{font-size:1.5em;font-weight:600;font-variant-numeric:tabular-nums}
form.filters{display:flex;gap:.8em;flex-wrap:wrap;align-items:end;margin:1em 0}form.filters label{display:flex;flex-direction:column;font-size:.85em;color:#444}
input,select,button{font:inherit;padding:.25em .4em}a{color:#1d4ed8}.crumbs{margin:.5em 0;color:#444}td.mono,span.mono{font-family:ui-monospace,monospace;font-size:.9em}
.tags span{background:#eef2ff;border-radius:3px;padding:0 .3em;margin-right:.3em;white-space:nowrap}.blocked{color:#b3261e;font-weight:600}
.error{border:1px solid #fca5a5;background:#fef2f2;padding:1em;border-radius:6px}`;

function freshnessText(f: Freshness | null): { text: string; stale: boolean } {
  if (f === null) return { text: 'no snapshot yet', stale: true };
  const parts: string[] = [];
  if (f.newest_record_at) parts.push(`data up to ${f.newest_record_at.replace('T', ' ').slice(0, 16)} UTC`);
  if (f.last_reconcile_success) parts.push(`last reconcile ${f.last_reconcile_success.replace('T', ' ').slice(0, 16)} UTC`);
  else parts.push('no successful reconcile recorded');
  if (f.last_reconcile_failed) parts.push(`LAST RUN FAILED${f.last_reconcile_error ? `: ${f.last_reconcile_error}` : ''}`);
  return { text: parts.join(' · '), stale: f.last_reconcile_failed || !f.last_reconcile_success };
}

export function page(options: { title: string; path: string; freshness: Freshness | null; body: string; signedIn?: boolean }): string {
  const nav = NAV.map(([href, label]) => `<a href="${href}"${href === options.path ? ' class="on"' : ''}>${label}</a>`).join('');
  const f = freshnessText(options.freshness);
  const signOut = options.signedIn ? '<form method="post" action="/logout" style="margin:0"><button type="submit">Sign out</button></form>' : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(options.title)} · tagspend</title>
<style>${STYLE}</style>
</head>
<body>
<header><span class="brand">tagspend</span><nav style="display:flex;gap:1.2em">${nav}</nav><span class="fresh${f.stale ? ' stale' : ''}" data-freshness>${escapeHtml(f.text)}</span>${signOut}</header>
<main>
<h1>${escapeHtml(options.title)}</h1>
${options.body}
</main>
</body>
</html>
`;
}

/** A query string from pairs, skipping empty values; repeated names allowed. */
export function query(pairs: readonly (readonly [string, string | number | null | undefined])[]): string {
  const q = new URLSearchParams();
  for (const [k, v] of pairs) if (v !== null && v !== undefined && v !== '') q.append(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function card(label: string, value: string, figure: string, extra = ''): string {
  return `<div class="card"><div class="label">${escapeHtml(label)}</div><div class="value" data-figure="${escapeHtml(figure)}">${escapeHtml(value)}</div>${extra}</div>`;
}

export function loginPage(message: string | null, next: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Sign in · tagspend</title><style>${STYLE}</style></head>
<body><main>
<h1>tagspend</h1>
<p>Sign in with the master key or a viewer key (<code>viewer: true</code> in the config).</p>
${message ? `<p class="error">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/login" class="filters"><input type="hidden" name="next" value="${escapeHtml(next)}"><label>Key<input type="password" name="key" autocomplete="current-password" required></label><button type="submit">Sign in</button></form>
</main></body></html>
`;
}

export function errorBody(message: string): string {
  return `<p class="error">${escapeHtml(message)}</p>`;
}
