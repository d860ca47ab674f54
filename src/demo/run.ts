// `tagspend demo`: the whole loop on the embedded defaults in under a minute. Starts the
// simulated provider and the proxy (local store, this config's data directory), gives one app a
// small budget, sends a realistic mix of tagged traffic until that app is blocked, ships the
// logs, runs reconcile into DuckDB and prints the allocation report. Leaves nothing running.
import { randomBytes } from 'node:crypto';
import { relative } from 'node:path';
import { request as undiciRequest, Pool } from 'undici';
import { runJob, summaryLine } from '../../jobs/run/runner.ts';
import { jobSettings } from '../../jobs/run/settings.ts';
import { buildReport, renderReport } from '../report/query.ts';
import { openForReading } from '../report/open.ts';
import { parseDimension } from '../report/dimensions.ts';
import { localDate } from '../report/calendar.ts';
import { loadConfig, type ResolvedConfig } from '../config/load.ts';
import type { Logger } from '../log.ts';
import { startMockUpstream } from '../mock/upstream.ts';
import { startProxy } from '../proxy/server.ts';
import { openConfiguredStore } from '../spool/shipping.ts';
import { DEMO_APPS, DEMO_BUDGET_TAG, demoTraffic, type DemoRequest } from './traffic.ts';

export interface DemoOptions {
  /** Config file and flags as for any command; the demo adds its provider, keys and budget. */
  configFile?: string | undefined;
  overrides?: Record<string, unknown>;
  requests: number;
  concurrency: number;
  budgetUsd: number;
  logger: Logger;
  out: (line: string) => void;
}

export interface DemoResult {
  sent: number;
  statuses: Record<number, number>;
  blocked: number;
  dbFile: string;
  snapshotFile: string;
}

function demoConfig(options: DemoOptions, upstreamUrl: string, masterKey: string, keys: Map<string, string>): ResolvedConfig {
  return loadConfig({
    file: options.configFile,
    overrides: {
      ...options.overrides,
      host: '127.0.0.1',
      port: 0,
      master_key: masterKey,
      providers: { mock: { base_url: upstreamUrl, anthropic_native: true } },
      keys: DEMO_APPS.map((a) => ({ key: keys.get(a.alias)!, alias: a.alias, tags: a.tags, metadata: { cost_center: `cc-${a.alias}` } })),
      // Short segments: the logs reach the store while the demo runs, as they would in a minute.
      spend_log: { segment_max_age_seconds: 2 },
    },
  });
}

async function send(pool: Pool, r: DemoRequest, key: string): Promise<number> {
  const res = await pool.request({
    path: r.path,
    method: 'POST',
    headers: { ...r.headers, authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(r.body),
  });
  await res.body.dump({ limit: Infinity }).catch(() => res.body.text());
  return res.statusCode;
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const { out, logger } = options;
  const started = performance.now();
  const upstream = await startMockUpstream();
  const masterKey = `sk-demo-master-${randomBytes(8).toString('hex')}`;
  const keys = new Map(DEMO_APPS.map((a) => [a.alias, `sk-demo-${a.alias}-${randomBytes(8).toString('hex')}`]));
  const resolved = demoConfig(options, upstream.url, masterKey, keys);
  const proxy = await startProxy(resolved, { logger });
  const statuses: Record<number, number> = {};
  let blocked = 0;
  try {
    out(`simulated provider at ${upstream.url}; proxy at ${proxy.url}; data in ${displayPath(resolved.dataDir)}`);
    const tagRes = await undiciRequest(`${proxy.url}/tag/new`, {
      method: 'POST',
      headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: DEMO_BUDGET_TAG, max_budget: options.budgetUsd, budget_duration: '1d', description: 'demo: a small daily budget that runs out' }),
    });
    const tagText = await tagRes.body.text();
    // 400 = it exists from an earlier demo run; keep its budget as set then.
    if (tagRes.statusCode !== 200 && tagRes.statusCode !== 400) throw new Error(`creating the demo budget failed: ${tagText}`);
    await proxy.budgets?.pollNow();
    out(`budget: ${DEMO_BUDGET_TAG} may spend $${options.budgetUsd} a day`);

    const traffic = demoTraffic(options.requests);
    const pool = new Pool(proxy.url, { connections: options.concurrency });
    let next = 0;
    const worker = async () => {
      while (next < traffic.length) {
        const r = traffic[next++]!;
        const status = await send(pool, r, keys.get(r.key)!);
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status === 429 && r.key === 'campaign-writer') blocked += 1;
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    await pool.close();
    out(`sent ${traffic.length} requests: ${Object.entries(statuses).map(([s, n]) => `${n}× ${s}`).join(', ')}`);
  } finally {
    // Closing ships the last segment; whatever cannot be shipped stays in the spool.
    await proxy.close();
    await upstream.close();
  }

  const settings = jobSettings(resolved);
  const store = openConfiguredStore(resolved);
  try {
    const summary = await runJob({ job: 'reconcile', trigger: 'cli' }, { settings, store, log: logger });
    out(summaryLine(summary));
    if (summary.status !== 'success') throw new Error(`reconcile failed: ${summary.error}`);
  } finally {
    await store.close();
  }

  const today = localDate(new Date(), settings.timezone);
  const db = await openForReading(settings, 'snapshot');
  try {
    for (const by of ['tag:app', 'tag:team', 'tag:tenant']) {
      const report = await buildReport(db.conn, { from: today, to: today, by: parseDimension(by) }, settings.timezone);
      out('');
      out(renderReport(report, 'table').trimEnd());
    }
  } finally {
    db.close();
  }
  const snapshot = displayPath(settings.snapshotFile);
  out('');
  out(`blocked: ${DEMO_BUDGET_TAG} ran through its $${options.budgetUsd} daily budget; the proxy answered ${blocked} of its requests with 429 budget_exceeded`);
  out(`DuckDB: ${displayPath(settings.dbFile)} (jobs) and ${snapshot} (read-only snapshot for queries)`);
  out('try:');
  out(`  npx tagspend query "SELECT t.tag, round(sum(cost_usd), 4) AS usd, count(*) AS requests FROM spend_logs, unnest(tags) AS t(tag) GROUP BY 1 ORDER BY 2 DESC LIMIT 10"`);
  out(`  npx tagspend report --by user --format md`);
  out(`  npx tagspend report --by meta:session_id      # the cost of each Claude Code session`);
  out(`  npx tagspend serve            # the dashboard: open the URL it prints`);
  out(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return {
    sent: Object.values(statuses).reduce((a, b) => a + b, 0),
    statuses,
    blocked,
    dbFile: settings.dbFile,
    snapshotFile: settings.snapshotFile,
  };
}

function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel.startsWith('..') ? p : `./${rel}`;
}
