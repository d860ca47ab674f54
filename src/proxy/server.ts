// The proxy process: HTTP routing, the spend writer's lifecycle and graceful shutdown.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startBudgetEnforcement, type BudgetEnforcement } from './budget-enforcement.ts';
import type { ResolvedConfig } from '../config/load.ts';
import { MethodNotAllowedError, NotFoundError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { loadPriceTable, type PriceTable } from '../spend/pricing.ts';
import { PriceRefresher } from '../spend/price-refresh.ts';
import { priceRefreshMetrics } from './price-metrics.ts';
import type { Shipper } from '../spool/shipper.ts';
import { configuredShipper, openConfiguredStore } from '../spool/shipping.ts';
import { acquireSpoolLock } from '../spool/spool-lock.ts';
import { recoverSpool, SpendWriter, type ClosedSegment } from '../spool/writer.ts';
import type { ObjectStore } from '../store/types.ts';
import { KeyRing } from './auth.ts';
import { onClientError, sendError, sendJson } from './http.ts';
import { createLlmHandler } from './llm.ts';
import { MESSAGES_API, MESSAGES_ENDPOINTS } from './messages.ts';
import type { BudgetGate } from '../budget/gate.ts';
import { ProxyMetrics } from './metrics.ts';
import { Router } from './router.ts';
import { SecretScrubber } from './secrets.ts';
import { Upstream } from './upstream.ts';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export interface ProxyOptions {
  logger: Logger;
  clock?: () => number;
  /** Port override (tests pass 0). */
  port?: number;
  host?: string;
  prices?: PriceTable;
  budget?: BudgetGate | null;
  /** Extra routes by `METHOD /path` (tag admin, ...). */
  routes?: Record<string, RouteHandler>;
  /** Called with each closed segment and with the ones recovered at start (the shipper). */
  onSegment?: (segment: ClosedSegment) => void;
  /** Readiness problems from other components (e.g. the shipper's backlog); empty = ready. */
  readinessProblems?: () => string[];
  defaultMetrics?: boolean;
  /** Store for shipped segments; default: opened from the config (store.url). An injected store is left open. */
  store?: ObjectStore;
  /** false: segments stay in the spool (logging only; `tagspend ship` can ship them later). */
  ship?: boolean;
}

export interface RunningProxy {
  server: Server;
  url: string;
  port: number;
  instance: string;
  writer: SpendWriter;
  metrics: ProxyMetrics;
  /** Recovered leftovers from an earlier process (closed, ready to ship). */
  recovered: ClosedSegment[];
  /** Ships closed segments to the store; null when started with `ship: false`. */
  shipper: Shipper | null;
  /** Budget pollers, gate and /tag/* routes; null when `budget` was given (or null) in the options. */
  budgets: BudgetEnforcement | null;
  /** pricing.refresh; null when it is off (or prices were given in the options). */
  priceRefresher: PriceRefresher | null;
  /** Stops accepting, waits for in-flight requests (up to the deadline), closes the segment. */
  close(deadlineMs?: number): Promise<void>;
}

const API_ENDPOINTS = ['/chat/completions', '/completions', '/embeddings', '/responses'];

export async function startProxy(resolved: ResolvedConfig, options: ProxyOptions): Promise<RunningProxy> {
  const { config } = resolved;
  const log = options.logger;
  const clock = options.clock ?? Date.now;
  const instance = `${resolved.instanceBase}.${randomBytes(3).toString('hex')}`;
  const spoolDir = resolved.paths.spool;
  const lock = acquireSpoolLock(spoolDir);
  const { recovered } = recoverSpool(spoolDir, log);

  const writer = new SpendWriter({
    spoolDir,
    instance,
    maxBytes: config.spend_log.segment_max_bytes,
    maxAgeMs: config.spend_log.segment_max_age_seconds * 1000,
    clock,
    logger: log,
    minFreeBytes: config.spend_log.min_free_bytes,
  });
  if (options.onSegment) writer.on('segment', options.onSegment);
  const metrics = new ProxyMetrics({
    defaultMetrics: options.defaultMetrics ?? false,
    tagKeys: config.metrics.tag_keys,
    maxTagSeries: config.metrics.max_tag_series,
  });
  metrics.watchSpendLog(writer);
  const shipping = options.ship === false ? null : startShipping(resolved, spoolDir, writer, metrics, options);
  const keyring = new KeyRing(resolved.keys, resolved.masterKey);
  const router = new Router(resolved);
  const upstream = new Upstream(config.upstream);
  metrics.watchUpstream(upstream);
  // pricing.refresh (opt-in) keeps the price data current without a restart.
  const refresher =
    options.prices === undefined && config.pricing.refresh
      ? await PriceRefresher.start({
          refresh: config.pricing.refresh,
          overridesFile: config.pricing.overrides_file,
          lastGoodFile: resolved.paths.priceData,
          logger: log,
          hooks: priceRefreshMetrics(metrics.registry),
          clock,
        })
      : null;
  const prices = options.prices ?? refresher?.table ?? (await loadPriceTable({ overridesFile: config.pricing.overrides_file }));
  if (keyring.open) {
    log.warn('NO API KEYS CONFIGURED: the proxy accepts every request without authentication. Set master_key and keys in the config.');
  }
  // Budgets: undefined = enforce from the store's block-list and tag definitions; null = off.
  const budgetStore = options.budget !== undefined ? null : (shipping?.store ?? options.store ?? openConfiguredStore(resolved));
  const ownBudgetStore = budgetStore !== null && shipping === null && options.store === undefined;
  const budgets = budgetStore ? await startBudgetEnforcement({ resolved, store: budgetStore, keyring, logger: log, clock, instance }) : null;
  if (budgets) metrics.watchBudgets({ fleet: budgets.fleet, clock });

  const llm = createLlmHandler({
    instance,
    keyring,
    router,
    upstream,
    prices,
    writer,
    metrics,
    logger: log,
    clock,
    maxBodyBytes: config.max_body_bytes,
    bodyTimeoutMs: config.request_body_timeout_ms,
    maxEventBytes: config.upstream.max_event_bytes,
    userIdSalt: config.privacy.hash_user_ids ? resolved.userIdSalt : null,
    redactKeys: config.privacy.redact_metadata_keys.map((k) => k.toLowerCase()),
    budget: options.budget === undefined ? (budgets?.gate ?? null) : options.budget,
    outputTokensCap: config.budgets.reservation_output_tokens_cap,
    secrets: new SecretScrubber([
      resolved.masterKey,
      ...resolved.keys.map((k) => k.key),
      ...[...resolved.providers.values()].map((p) => p.apiKey),
    ]),
  });

  const routes = new Map<string, RouteHandler>();
  for (const ep of API_ENDPOINTS) {
    const recordEndpoint = `/v1${ep}`;
    const handler: RouteHandler = (req, res) => llm(req, res, ep, recordEndpoint);
    routes.set(`POST ${ep}`, handler);
    routes.set(`POST /v1${ep}`, handler);
  }
  for (const ep of MESSAGES_ENDPOINTS) {
    const recordEndpoint = `/v1${ep}`;
    const handler: RouteHandler = (req, res) => llm(req, res, ep, recordEndpoint, MESSAGES_API);
    routes.set(`POST ${ep}`, handler);
    routes.set(`POST /v1${ep}`, handler);
  }
  const models: RouteHandler = (req, res) => {
    keyring.authenticate(req.headers);
    const created = Math.floor(clock() / 1000);
    sendJson(res, 200, {
      object: 'list',
      data: router.listModels().map((id) => ({ id, object: 'model', created, owned_by: 'tagspend' })),
    });
  };
  routes.set('GET /models', models);
  routes.set('GET /v1/models', models);
  const live: RouteHandler = (_req, res) => sendJson(res, 200, { status: 'ok' });
  routes.set('GET /health/liveliness', live);
  routes.set('GET /health/liveness', live);
  let stopping = false;
  routes.set('GET /health/readiness', (_req, res) => {
    const problems = [
      ...(stopping ? ['shutting down'] : []),
      ...(writer.problem() === null ? [] : [writer.problem()!]),
      ...(shipping?.shipper.readinessProblems() ?? []),
      ...(options.readinessProblems?.() ?? []),
    ];
    sendJson(res, problems.length ? 503 : 200, { status: problems.length ? 'unavailable' : 'ready', instance, problems });
  });
  routes.set('GET /metrics', async (_req, res) => {
    shipping?.shipper.refreshGauges(); // the oldest segment's age grows between changes
    const text = await metrics.registry.metrics();
    res.writeHead(200, { 'content-type': metrics.registry.contentType });
    res.end(text);
  });
  for (const [k, h] of Object.entries(budgets?.routes ?? {})) routes.set(k, h);
  for (const [k, h] of Object.entries(options.routes ?? {})) routes.set(k, h);

  // Looked up by method, then path: no `METHOD path` string to build and hash per request.
  const byMethod = new Map<string, Map<string, RouteHandler>>();
  for (const [key, handler] of routes) {
    const space = key.indexOf(' ');
    const method = key.slice(0, space);
    if (!byMethod.has(method)) byMethod.set(method, new Map());
    byMethod.get(method)!.set(key.slice(space + 1), handler);
  }

  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    // During shutdown a busy keep-alive connection would otherwise carry the client's next
    // request, and the next, and hold server.close() open until the deadline.
    if (stopping) res.setHeader('connection', 'close');
    const q = req.url!.indexOf('?');
    const path = q < 0 ? req.url! : req.url!.slice(0, q);
    const handler = byMethod.get(req.method!)?.get(path);
    if (!handler) {
      const other = [...routes.keys()].some((k) => k.endsWith(` ${path}`));
      sendError(res, other ? new MethodNotAllowedError(`${req.method} is not allowed on ${path}`) : new NotFoundError(`No route for ${req.method} ${path}`));
      return;
    }
    let result: Promise<void> | void;
    try {
      result = handler(req, res);
    } catch (err) {
      sendError(res, err);
      return;
    }
    if (result) result.catch((err) => sendError(res, err));
  });
  server.headersTimeout = 60_000;
  // Handlers answer a slow body themselves (408, request_body_timeout_ms); this backstop closes
  // a request no handler reads. It stops counting once the request is in: long answers are fine.
  server.requestTimeout = server.headersTimeout + config.request_body_timeout_ms + 5_000;
  server.on('clientError', onClientError);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? config.port, options.host ?? config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? config.host;
  const url = `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${port}`;
  log.info({ url, instance, spool: spoolDir, providers: [...resolved.providers.keys()] }, 'tagspend proxy listening');

  let closing: Promise<void> | null = null;
  async function close(deadlineMs = config.spend_log.shutdown_deadline_seconds * 1000): Promise<void> {
    closing ??= (async () => {
      const started = Date.now();
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), deadlineMs);
      await closed;
      clearTimeout(timer);
      await budgets?.close();
      await refresher?.stop();
      writer.close();
      if (shipping) {
        // Shipping gets what the requests left of the deadline, and at least one attempt.
        await shipping.shipper.drain(Math.max(500, deadlineMs - (Date.now() - started)));
        if (shipping.ownStore) await shipping.store.close().catch(() => {});
      }
      await upstream.close();
      if (ownBudgetStore) await budgetStore!.close().catch(() => {});
      lock.release();
    })();
    return closing;
  }

  return { server, url, port, instance, writer, metrics, recovered, shipper: shipping?.shipper ?? null, budgets, priceRefresher: refresher, close };
}

/** Ships every segment left in the spool by an earlier process, then each one the writer closes. */
function startShipping(
  resolved: ResolvedConfig,
  spoolDir: string,
  writer: SpendWriter,
  metrics: ProxyMetrics,
  options: ProxyOptions,
): { shipper: Shipper; store: ObjectStore; ownStore: boolean } {
  const store = options.store ?? openConfiguredStore(resolved);
  const shipper = configuredShipper(resolved, store, options.logger, { metrics, ...(options.clock ? { clock: options.clock } : {}) });
  // The scan runs before the first request can close a segment, so nothing is queued twice.
  shipper.enqueueSpool(spoolDir);
  writer.on('segment', shipper.enqueue);
  return { shipper, store, ownStore: options.store === undefined };
}
