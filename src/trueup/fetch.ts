// `tagspend trueup fetch`: a provider's daily costs for a period, page by page, with an admin
// key. Every page is read before anything is imported (pages are then parsed exactly as files
// are), so a failure on page 3 imports nothing. Requests and headers per provider:
//   OpenAI:    GET {base}/organization/costs?start_time=<unix s>&end_time=<unix s>&bucket_width=1d
//              &group_by=line_item&limit=<days, max 180>[&page=<next_page>]   Authorization: Bearer <key>
//   Anthropic: GET {base}/organizations/cost_report?starting_at=<RFC 3339>&ending_at=<RFC 3339>
//              &bucket_width=1d&group_by[]=description&limit=<days, max 31>[&page=<next_page>]
//              x-api-key: <key>, anthropic-version: 2023-06-01
// 429 and 5xx answers and network failures are retried (Retry-After honoured, capped).
import { setTimeout as delay } from 'node:timers/promises';
import { BillFetchError } from '../errors.ts';
import { addDays } from '../report/calendar.ts';

export type FetchProvider = 'openai' | 'anthropic';
export const FETCH_PROVIDERS: readonly FetchProvider[] = ['openai', 'anthropic'];

export interface FetchRequest {
  provider: FetchProvider;
  /** The API root, e.g. https://api.openai.com/v1 (config trueup.<provider>.base_url). */
  baseUrl: string;
  adminKey: string;
  /** First and last UTC day, inclusive. */
  from: string;
  to: string;
  timeoutMs: number;
  /** Attempts per page for retryable failures. */
  attempts?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Called after each page, for a progress line. */
  onPage?: (page: number) => void;
}

export interface FetchedPage {
  /** The page as the provider sent it. */
  text: string;
  url: string;
}

const ANTHROPIC_VERSION = '2023-06-01';
const MAX_PAGES = 1000;
const RETRY_AFTER_CAP_MS = 30_000;
const LIMITS: Record<FetchProvider, number> = { openai: 180, anthropic: 31 };

function dayCount(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1;
}

function pageUrl(req: FetchRequest, page: string | null): string {
  const base = req.baseUrl.replace(/\/+$/, '');
  const end = addDays(req.to, 1);
  const limit = String(Math.min(dayCount(req.from, req.to), LIMITS[req.provider]));
  const q = new URLSearchParams();
  if (req.provider === 'openai') {
    q.set('start_time', String(Date.parse(`${req.from}T00:00:00Z`) / 1000));
    q.set('end_time', String(Date.parse(`${end}T00:00:00Z`) / 1000));
    q.set('bucket_width', '1d');
    q.set('group_by', 'line_item');
    q.set('limit', limit);
  } else {
    q.set('starting_at', `${req.from}T00:00:00Z`);
    q.set('ending_at', `${end}T00:00:00Z`);
    q.set('bucket_width', '1d');
    q.append('group_by[]', 'description');
    q.set('limit', limit);
  }
  if (page !== null) q.set('page', page);
  return `${base}/${req.provider === 'openai' ? 'organization/costs' : 'organizations/cost_report'}?${q}`;
}

function headers(req: FetchRequest): Record<string, string> {
  const h: Record<string, string> = { accept: 'application/json' };
  if (req.provider === 'openai') h.authorization = `Bearer ${req.adminKey}`;
  else {
    h['x-api-key'] = req.adminKey;
    h['anthropic-version'] = ANTHROPIC_VERSION;
  }
  return h;
}

/** The provider's own error message, from either provider's error shape. */
function errorMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    const msg = typeof parsed.error === 'object' ? parsed.error?.message : (parsed.error ?? parsed.message);
    if (typeof msg === 'string' && msg) return msg;
  } catch {
    // not JSON: the text itself
  }
  return body.trim().slice(0, 300) || '(empty body)';
}

function retryAfterMs(value: string | null, attempt: number): number {
  const seconds = value === null ? NaN : Number(value);
  const ms = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 1000 * 2 ** (attempt - 1);
  return Math.min(ms, RETRY_AFTER_CAP_MS);
}

async function getPage(req: FetchRequest, url: string, label: string): Promise<string> {
  const attempts = req.attempts ?? 3;
  const sleep = req.sleep ?? ((ms: number) => delay(ms));
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(url, { headers: headers(req), signal: AbortSignal.timeout(req.timeoutMs) });
    } catch (err) {
      if (attempt < attempts) {
        await sleep(retryAfterMs(null, attempt));
        continue;
      }
      throw new BillFetchError(`${label}: could not reach ${new URL(url).origin}: ${(err as Error).message}`, null, { cause: err });
    }
    const body = await res.text();
    if (res.ok) return body;
    if ((res.status === 429 || res.status >= 500) && attempt < attempts) {
      await sleep(retryAfterMs(res.headers.get('retry-after'), attempt));
      continue;
    }
    const hint = res.status === 401 || res.status === 403 ? ' (is the key an admin key of the organization?)' : '';
    throw new BillFetchError(`${label}: HTTP ${res.status}${hint}: ${errorMessage(body)}`, res.status);
  }
}

/** Every page of the period, in order, following next_page while has_more is true. */
export async function fetchBillPages(req: FetchRequest): Promise<FetchedPage[]> {
  const pages: FetchedPage[] = [];
  const seen = new Set<string>();
  let cursor: string | null = null;
  for (;;) {
    const url = pageUrl(req, cursor);
    const label = `${req.provider} cost page ${pages.length + 1}`;
    const text = await getPage(req, url, label);
    pages.push({ text, url });
    req.onPage?.(pages.length);
    let next: unknown = null;
    let more: unknown = false;
    try {
      const parsed = JSON.parse(text) as { has_more?: unknown; next_page?: unknown };
      more = parsed.has_more;
      next = parsed.next_page;
    } catch (err) {
      throw new BillFetchError(`${label}: the answer is not JSON: ${text.slice(0, 200)}`, 200, { cause: err });
    }
    if (more !== true) return pages;
    if (typeof next !== 'string' || next === '') throw new BillFetchError(`${label}: has_more is true but next_page is ${JSON.stringify(next)}`, 200);
    if (seen.has(next) || pages.length >= MAX_PAGES) throw new BillFetchError(`${label}: the pages do not end (next_page ${JSON.stringify(next)} again, or over ${MAX_PAGES} pages)`, 200);
    seen.add(next);
    cursor = next;
  }
}
