// The requests page and GET /api/requests: the latest spend records, newest first, filtered by
// tag, user, key, model, outcome or a metadata field's value, paged by a cursor (the last row's time and id), each with
// its full attribution, tokens and cost.
import type { DuckDBConnection } from '@duckdb/node-api';
import { selectRows, type Json } from '../db/rows.ts';
import { sql } from '../db/sql.ts';
import { InvalidRequestError } from '../errors.ts';
import { trimDecimal } from '../report/render/format.ts';

export const OUTCOMES = ['success', 'upstream_error', 'blocked', 'invalid_request', 'client_disconnect', 'proxy_error'] as const;

/** `FIELD=VALUE` (the value may hold '='): the `meta` parameter of the requests page and API. */
export function parseMetaFilter(text: string | undefined): { key: string; value: string } | undefined {
  if (text === undefined) return undefined;
  const i = text.indexOf('=');
  if (i <= 0) throw new InvalidRequestError(`meta must be FIELD=VALUE (a metadata field and its value, e.g. session_id=abc), got ${JSON.stringify(text)}`, { param: 'meta' });
  return { key: text.slice(0, i), value: text.slice(i + 1) };
}

export interface RequestFilters {
  from: string;
  to: string;
  tag?: string | undefined;
  user?: string | undefined;
  key?: string | undefined;
  model?: string | undefined;
  outcome?: string | undefined;
  /** A metadata field and its value (`session_id=...`). */
  meta?: { key: string; value: string } | undefined;
  limit: number;
  /** The cursor from the previous page's `next`. */
  before?: string | undefined;
}

export interface RequestsPage {
  requests: Record<string, Json>[];
  /** Pass as `before` for the next (older) page; null on the last page. */
  next: string | null;
}

function parseCursor(cursor: string): { us: bigint; id: string } {
  const m = /^(\d{1,20})_(.{1,100})$/.exec(cursor);
  if (!m) throw new InvalidRequestError('before must be the next cursor of a previous page', { param: 'before' });
  return { us: BigInt(m[1]!), id: m[2]! };
}

export async function listRequests(conn: DuckDBConnection, f: RequestFilters): Promise<RequestsPage> {
  const cursor = f.before === undefined ? null : parseCursor(f.before);
  const rows = await selectRows(conn, sql('serve/requests_page'), {
    from: f.from,
    to: f.to,
    tag: f.tag ?? null,
    user: f.user ?? null,
    key: f.key ?? null,
    model: f.model ?? null,
    outcome: f.outcome ?? null,
    meta_key: f.meta?.key ?? null,
    meta_value: f.meta?.value ?? null,
    before_us: cursor?.us ?? null,
    before_id: cursor?.id ?? null,
    limit: f.limit + 1,
  });
  const page = rows.slice(0, f.limit);
  const last = page[page.length - 1];
  const requests = page.map((r) => {
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(r)) {
      if (k === 'ts_us') continue;
      if (k === 'metadata') out[k] = Object.fromEntries(((v as { key: string; value: Json }[] | null) ?? []).map((e) => [e.key, e.value]));
      else if (k === 'cost_usd') out[k] = typeof v === 'string' ? trimDecimal(v) : v;
      else out[k] = v;
    }
    return out;
  });
  return { requests, next: rows.length > f.limit && last ? `${String(last.ts_us)}_${String(last.request_id)}` : null };
}
