// `tagspend serve`: the dashboard, the JSON API and CSV downloads over the read-only snapshot.
// Its own port (4100), its own process: it never opens the jobs' file nor touches the proxy.
// Every page is rendered here (no script in the browser, no asset from anywhere); every
// endpoint needs the master key or a viewer key.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ResolvedConfig } from '../config/load.ts';
import { selectRows } from '../db/rows.ts';
import { sql } from '../db/sql.ts';
import type { WithConnection } from '../db/with-connection.ts';
import { AuthenticationError, DatabaseMissingError, InvalidRequestError, MethodNotAllowedError, NotFoundError, PermissionError, TagspendError, toOpenAIError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { KeyRing } from '../proxy/auth.ts';
import { readBody } from '../proxy/http.ts';
import { localDate } from '../report/calendar.ts';
import { buildDrillReport } from '../report/drill.ts';
import { buildHygieneReport, hygieneJson, hygieneOptions, type HygieneReport } from '../report/hygiene.ts';
import { buildReport, renderReport } from '../report/query.ts';
import { reportJson } from '../report/render/report.ts';
import { dimensionLabel } from '../report/dimensions.ts';
import { Sessions, clearedCookie } from './auth.ts';
import { buildBudgets } from './budgets.ts';
import { freshness, StatusFile, type Freshness } from './freshness.ts';
import { globalSpendReport, spendTags, tagDailyActivity, type GroupPage } from './litellm.ts';
import { buildOverview } from './overview.ts';
import { lastDays, Params } from './params.ts';
import { listRequests, OUTCOMES, parseMetaFilter, type RequestFilters } from './requests.ts';
import { SnapshotSource, type Snapshot } from './snapshot.ts';
import { TagNames } from './tag-names.ts';
import { breakdownBody } from './pages/breakdown.ts';
import { budgetsBody } from './pages/budgets.ts';
import { hygieneBody } from './pages/hygiene.ts';
import { errorBody, loginPage, page } from './pages/layout.ts';
import { overviewBody } from './pages/overview.ts';
import { requestsBody } from './pages/requests.ts';

export interface ServeOptions {
  logger: Logger;
  /** Wall clock (ms): decides "today" and session expiry. */
  clock?: () => number;
  port?: number;
  host?: string;
}

export interface RunningServe {
  server: Server;
  url: string;
  port: number;
  source: SnapshotSource;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on the sign-in form's POST.
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

/** The largest page of /api/report rows (?limit=); without one, every row. */
const REPORT_ROWS_MAX = 100_000;

/** The tag key LiteLLM's group_by=team maps to. */
const TEAM_TAG_KEY = 'team';

/** A rendered answer; cached per snapshot version, since a snapshot never changes. */
interface Reply {
  type: string;
  body: string;
  headers?: Record<string, string>;
}

/** Answers of one snapshot version, least recently used dropped first. */
class ReplyCache {
  private readonly entries = new Map<string, Reply>();
  constructor(private readonly max: number) {}
  get(key: string): Reply | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }
  set(key: string, reply: Reply): void {
    this.entries.set(key, reply);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
}

const JSON_TYPE = 'application/json; charset=utf-8';
const json = (body: unknown): Reply => ({ type: JSON_TYPE, body: JSON.stringify(body) });

/**
 * A bounded list in LiteLLM's shape (a bare JSON array): how many groups there are in all goes
 * in `x-total-count`, and the next page's URL, when there is one, in a `link: <...>; rel="next"`
 * header (RFC 8288), so the body stays what LiteLLM clients parse.
 */
function groupPage(path: string, c: Ctx, p: GroupPage): Reply {
  const headers: Record<string, string> = { 'x-total-count': String(p.total) };
  if (p.offset + p.limit < p.total) {
    const next = new URLSearchParams(c.params.query);
    next.set('offset', String(p.offset + p.limit));
    next.set('limit', String(p.limit));
    headers.link = `<${path}?${next}>; rel="next"`;
  }
  return { type: JSON_TYPE, body: JSON.stringify(p.body), headers };
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  params: Params;
  today: string;
  /** The tag definitions' names, read for the hygiene answers only (null: the store could not be listed). */
  definitions?: ReadonlySet<string> | null;
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, body: unknown): void => send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
const sendHtml = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => send(res, status, 'text/html; charset=utf-8', body, headers);

export async function startServe(resolved: ResolvedConfig, options: ServeOptions): Promise<RunningServe> {
  const { config } = resolved;
  const log = options.logger;
  const clock = options.clock ?? Date.now;
  const timezone = config.timezone;
  const keyring = new KeyRing(resolved.keys, resolved.masterKey);
  const sessions = new Sessions(keyring, config.serve.session_hours * 3_600_000, clock);
  const source = new SnapshotSource(resolved.paths.snapshotFile, { connections: config.serve.connections, logger: log });
  if (keyring.open) log.warn('NO API KEYS CONFIGURED: tagspend serve shows spend to anyone who can reach it. Set master_key (or viewer keys) in the config.');

  const statusFile = new StatusFile(resolved.paths.statusFile);
  const freshnessOf = (snap: Snapshot): Freshness => freshness(snap.meta, statusFile.read());
  const cache = new ReplyCache(256);
  const tagNames = new TagNames(resolved, log);
  /** Answers that also depend on the tag definitions, which change without a new snapshot. */
  const withDefinitions = new Set(['/hygiene', '/api/hygiene']);

  /** The breakdown page's dimensions: tag keys and metadata fields with spend in the period. */
  async function dimensionChoices(use: WithConnection, from: string, to: string): Promise<string[]> {
    const rows = await use((conn) => selectRows(conn, sql('serve/dimension_choices'), { from, to }));
    const of = (kind: string, prefix: string): string[] => rows.filter((r) => r.kind === kind).map((r) => `${prefix}:${String(r.name)}`);
    return ['tag', ...of('tag_key', 'tag'), 'user', 'model', 'key', ...of('meta_key', 'meta')];
  }

  function overviewData(snap: Snapshot, c: Ctx) {
    return buildOverview(snap.use, {
      nowMs: clock(),
      asOfMs: snap.meta.newestRecordMs,
      timezone,
      tagKey: c.params.text('key') ?? null,
      days: c.params.int('days', 30, 7, 366),
      defaultTagKey: config.serve.default_tag_key,
    });
  }

  /** The breakdown's parameters, checked before any query starts. */
  function breakdownParams(c: Ctx) {
    return { by: c.params.dimension('by', 'tag'), period: c.params.period(c.today), filters: c.params.filters() };
  }

  /** `tagspend report --by hygiene` for the period: the same report, from the same function. */
  function hygieneReport(snap: Snapshot, c: Ctx): Promise<HygieneReport> {
    const period = c.params.period(c.today);
    // One connection for the whole report: it stages its inputs in TEMP tables of that connection.
    return snap.use((conn) => buildHygieneReport(conn, period, hygieneOptions(config, c.definitions ?? null)));
  }

  function requestFilters(c: Ctx): RequestFilters {
    const to = c.params.date('to') ?? c.today;
    const from = c.params.date('from') ?? lastDays(to, 7).from;
    if (to < from) throw new InvalidRequestError(`to (${to}) is before from (${from})`, { param: 'to' });
    return {
      from,
      to,
      tag: c.params.text('tag'),
      user: c.params.text('user'),
      key: c.params.text('key'),
      model: c.params.text('model'),
      outcome: c.params.oneOf('outcome', OUTCOMES),
      meta: parseMetaFilter(c.params.text('meta')),
      limit: c.params.int('limit', 50, 1, 500),
      before: c.params.text('before'),
    };
  }

  // A handler gets the request's snapshot; `snap.use` runs each query on a connection of it, so
  // queries started together run side by side.
  type Handler = (snap: Snapshot, c: Ctx) => Promise<Reply>;
  const pages = new Map<string, { title: string; render: (snap: Snapshot, c: Ctx) => Promise<string> }>([
    ['/', { title: 'Where the money went', render: async (snap, c) => overviewBody(await overviewData(snap, c)) }],
    [
      '/breakdown',
      {
        title: 'Breakdown',
        render: async (snap, c) => {
          const { by, period, filters } = breakdownParams(c);
          const [report, choices] = await Promise.all([buildDrillReport(snap.use, { ...period, by, filters }, timezone), dimensionChoices(snap.use, period.from, period.to)]);
          const byText = c.params.text('by') ?? 'tag';
          const defaultThen = choices.find((x) => x.startsWith('tag:') && x !== byText) ?? 'user';
          const then = c.params.text('then') ?? defaultThen;
          c.params.dimension('then', then);
          return breakdownBody(report, { by: byText, ...period, then, filters, choices });
        },
      },
    ],
    ['/budgets', { title: 'Budgets', render: async (snap) => budgetsBody(await snap.use(buildBudgets)) }],
    [
      '/requests',
      {
        title: 'Requests',
        render: async (snap, c) => {
          const filters = requestFilters(c);
          return requestsBody(await snap.use((conn) => listRequests(conn, filters)), filters);
        },
      },
    ],
    ['/hygiene', { title: 'Tag hygiene', render: async (snap, c) => hygieneBody(await hygieneReport(snap, c)) }],
  ]);

  const api = new Map<string, Handler>([
    ['/api/overview', async (snap, c) => json(await overviewData(snap, c))],
    [
      '/api/report',
      async (snap, c) => {
        const by = c.params.dimension('by');
        const period = c.params.period(c.today);
        const filters = c.params.filters();
        const page = c.params.page(REPORT_ROWS_MAX);
        return json(reportJson(await buildDrillReport(snap.use, { ...period, by, filters, ...(page ? { page } : {}) }, timezone)));
      },
    ],
    ['/api/budgets', async (snap) => json(await snap.use(buildBudgets))],
    // Never cached: the status file changes without a new snapshot when a job run fails.
    ['/api/freshness', async (snap) => json(freshnessOf(snap))],
    [
      '/api/requests',
      async (snap, c) => {
        const filters = requestFilters(c);
        return json(await snap.use((conn) => listRequests(conn, filters)));
      },
    ],
    ['/api/hygiene', async (snap, c) => json(hygieneJson(await hygieneReport(snap, c)))],
    ['/spend/tags', async (snap, c) => json(await spendTags(snap.use, c.params, timezone))],
    ['/global/spend/report', async (snap, c) => groupPage('/global/spend/report', c, await globalSpendReport(snap.use, c.params, TEAM_TAG_KEY))],
    ['/tag/daily/activity', async (snap, c) => json(await tagDailyActivity(snap.use, c.params))],
    [
      '/breakdown.csv',
      async (snap, c) => {
        const { by, period, filters } = breakdownParams(c);
        const report = await buildDrillReport(snap.use, { ...period, by, filters }, timezone);
        const name = `spend-by-${dimensionLabel(by)}-${period.from}-to-${period.to}.csv`.replace(/[^A-Za-z0-9._-]/g, '_');
        return { type: 'text/csv; charset=utf-8', body: renderReport(report, 'csv'), headers: { 'content-disposition': `attachment; filename="${name}"` } };
      },
    ],
  ]);

  function wantsHtml(req: IncomingMessage, path: string): boolean {
    return pages.has(path) || (req.headers.accept ?? '').includes('text/html');
  }

  function fail(req: IncomingMessage, res: ServerResponse, path: string, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    let status = err instanceof TagspendError ? err.status : 500;
    if (err instanceof DatabaseMissingError) status = 503;
    if (!(err instanceof TagspendError)) log.error({ err, path }, 'serve request failed');
    if ((req.headers.accept ?? '').includes('text/html') && err instanceof AuthenticationError && presentedBySession(req) && req.method === 'GET') {
      // A browser without a session: to the sign-in page, and back here after it.
      sendHtml(res, 303, '', { location: `/login?next=${encodeURIComponent(req.url ?? '/')}` });
      return;
    }
    if (wantsHtml(req, path) && (err instanceof AuthenticationError || err instanceof PermissionError)) {
      sendHtml(res, status, loginPage(err instanceof PermissionError ? err.message : null, '/'));
      return;
    }
    if (wantsHtml(req, path)) {
      const message = err instanceof TagspendError ? err.message : 'internal error';
      sendHtml(res, status, page({ title: 'Problem', path, freshness: null, body: errorBody(message) }));
      return;
    }
    const body = toOpenAIError(err).body;
    sendJson(res, status, body);
  }

  /** A form POST from one of our own pages (no other site can sign a browser in or out). */
  function sameOrigin(req: IncomingMessage): boolean {
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined) return site === 'same-origin' || site === 'none';
    const origin = req.headers.origin;
    if (origin === undefined) return true; // not a browser
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://serve.invalid');
    const path = url.pathname;
    try {
      if (path === '/health/liveliness' || path === '/health/liveness') return sendJson(res, 200, { status: 'ok' });
      if (path === '/health/readiness') {
        return await source.withSnapshot(async () => sendJson(res, 200, { status: 'ready' })).catch((err: unknown) =>
          sendJson(res, 503, { status: 'unavailable', problems: [(err as Error).message] }),
        );
      }
      if (path === '/login') {
        if (req.method === 'GET') return sendHtml(res, 200, loginPage(null, safeNext(url.searchParams.get('next'))));
        if (req.method !== 'POST') throw new MethodNotAllowedError(`${req.method} is not allowed on /login`);
        if (!sameOrigin(req)) throw new PermissionError('cross-site sign-in refused');
        const form = new URLSearchParams((await readBody(req, 4096)).toString('utf8'));
        const next = safeNext(form.get('next'));
        try {
          const id = sessions.signIn((form.get('key') ?? '').trim());
          return sendHtml(res, 303, '', { location: next, 'set-cookie': sessions.cookie(id) });
        } catch (err) {
          const status = err instanceof TagspendError ? err.status : 401;
          return sendHtml(res, status, loginPage(err instanceof PermissionError ? err.message : 'That key is not the master key or a viewer key.', next));
        }
      }
      if (path === '/logout') {
        if (req.method !== 'POST') throw new MethodNotAllowedError(`${req.method} is not allowed on /logout`);
        if (!sameOrigin(req)) throw new PermissionError('cross-site sign-out refused');
        sessions.signOut(req);
        return sendHtml(res, 303, '', { location: '/login', 'set-cookie': clearedCookie() });
      }
      const pageDef = pages.get(path);
      const apiHandler = api.get(path);
      if (!pageDef && !apiHandler) throw new NotFoundError(`No route for ${req.method} ${path}`);
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new MethodNotAllowedError(`${req.method} is not allowed on ${path}`);
      const principal = sessions.authenticate(req);
      const c: Ctx = { req, res, params: new Params(url.searchParams), today: localDate(new Date(clock()), timezone) };
      // Checked before the snapshot is held: a slow store listing holds no snapshot open.
      const names = withDefinitions.has(path) ? await tagNames.current() : null;
      if (names !== null) c.definitions = names.names;
      await source.withSnapshot(async (snap) => {
        // Figures depend only on the snapshot, the day and the query (and the hygiene answers on
        // the tag definitions): computed once per snapshot.
        const cacheKey = `${snap.version}\u0000${c.today}\u0000${names === null ? '' : names.version}\u0000${path}${url.search}`;
        let reply = path === '/api/freshness' ? undefined : cache.get(cacheKey);
        if (!reply) {
          reply = apiHandler ? await apiHandler(snap, c) : { type: 'text/html; charset=utf-8', body: await pageDef!.render(snap, c) };
          cache.set(cacheKey, reply);
        }
        if (apiHandler) return send(res, 200, reply.type, reply.body, reply.headers);
        // The frame is per request: freshness comes from the status file, which a failed job run changes.
        sendHtml(res, 200, page({ title: pageDef!.title, path, freshness: freshnessOf(snap), body: reply.body, signedIn: principal.kind !== 'open' && presentedBySession(req) }));
      });
    } catch (err) {
      fail(req, res, path, err);
    }
  }

  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => void handle(req, res));
  server.headersTimeout = 30_000;
  server.requestTimeout = 60_000;
  const host = options.host ?? config.serve.host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? config.serve.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url, snapshot: resolved.paths.snapshotFile }, 'tagspend serve listening');

  let closing: Promise<void> | null = null;
  return {
    server,
    url,
    port,
    source,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), 5_000);
        await closed;
        clearTimeout(timer);
        await source.close();
        await tagNames.close();
      })();
      return closing;
    },
  };
}

/** Where to go after signing in: a path on this server only (never another site). */
function safeNext(next: string | null): string {
  return next !== null && /^\/(?![/\\])/.test(next) ? next : '/';
}

function presentedBySession(req: IncomingMessage): boolean {
  return req.headers.authorization === undefined && req.headers['x-api-key'] === undefined && req.headers['x-litellm-api-key'] === undefined;
}
