// The requests page: the latest spend records with their attribution, tokens and cost,
// filtered and paged (newest first).
import type { Json } from '../../db/rows.ts';
import { escapeHtml } from '../../report/render/escape.ts';
import { formatCount, formatUsd } from '../../report/render/numbers.ts';
import { OUTCOMES, type RequestFilters, type RequestsPage } from '../requests.ts';
import { query } from './layout.ts';

const text = (v: Json | undefined): string => (v === null || v === undefined ? '' : String(v));

export function requestsBody(page: RequestsPage, f: RequestFilters): string {
  const input = (name: keyof RequestFilters, label: string): string => `<label>${label}<input name="${name}" value="${escapeHtml(text(f[name] as Json | undefined))}"></label>`;
  const outcome = `<label>Outcome<select name="outcome"><option value="">any</option>${OUTCOMES.map((o) => `<option${o === f.outcome ? ' selected' : ''}>${o}</option>`).join('')}</select></label>`;
  const metaText = f.meta === undefined ? '' : `${f.meta.key}=${f.meta.value}`;
  const metaInput = `<label>Metadata<input name="meta" placeholder="session_id=..." value="${escapeHtml(metaText)}"></label>`;
  const form = `<form class="filters" method="get" action="/requests">${input('tag', 'Tag')}${input('user', 'User')}${input('key', 'Key')}${input('model', 'Model')}${metaInput}${outcome}<label>From<input type="date" name="from" value="${f.from}"></label><label>To<input type="date" name="to" value="${f.to}"></label><button type="submit">Filter</button></form>`;
  const rows = page.requests.map((r) => {
    const tags = ((r.tags as string[] | null) ?? []).map((t) => `<span>${escapeHtml(t)}</span>`).join('');
    const meta = Object.entries((r.metadata as Record<string, Json>) ?? {}).map(([k, v]) => `${escapeHtml(k)}=${escapeHtml(text(v))}`).join('<br>');
    return `<tr><td class="mono">${escapeHtml(text(r.ts).replace('T', ' ').slice(0, 19))}</td><td>${escapeHtml(text(r.model))}</td><td>${escapeHtml(text(r.outcome))} ${escapeHtml(text(r.status))}</td><td class="tags">${tags}</td><td>${escapeHtml(text(r.user))}</td><td>${escapeHtml(text(r.key_alias))}</td><td>${meta}</td><td class="num">${formatCount(text(r.prompt_tokens))}</td><td class="num">${formatCount(text(r.completion_tokens))}</td><td class="num" data-cost>${r.cost_usd === null ? 'unpriced' : formatUsd(text(r.cost_usd))}</td><td class="mono">${escapeHtml(text(r.request_id))}</td></tr>`;
  });
  const next = page.next === null ? '' : `<p><a rel="next" href="/requests${query([['tag', f.tag], ['user', f.user], ['key', f.key], ['model', f.model], ['outcome', f.outcome], ['meta', f.meta === undefined ? undefined : metaText], ['from', f.from], ['to', f.to], ['limit', f.limit], ['before', page.next]])}">Older requests</a></p>`;
  return `${form}
<table data-table="requests"><thead><tr><th>Time (UTC)</th><th>Model</th><th>Outcome</th><th>Tags</th><th>User</th><th>Key</th><th>Metadata</th><th class="num">Prompt tokens</th><th class="num">Completion tokens</th><th class="num">Cost</th><th>Request id</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>
${page.requests.length === 0 ? '<p>No requests match.</p>' : ''}${next}`;
}
