// What the jobs need from the config, resolved once at start: absolute paths, validated cron
// schedules and report dimensions. Every problem is reported together as a ConfigError.
import type { RefreshSettings } from '../../src/spend/price-refresh.ts';
import { validate as validCron } from 'node-cron';
import type { ResolvedConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';
import { alertSettings, type AlertSettings } from '../steps/alerts.ts';
import { parseDimension } from '../../src/report/dimensions.ts';

export interface JobSettings {
  readonly dbFile: string;
  readonly snapshotFile: string;
  readonly reportDir: string;
  /** How the last runs ended, for monitoring (jobs/status-file.ts); a .prom file beside it. */
  readonly statusFile: string;
  /** Scratch space for downloaded objects, beside the DuckDB file. */
  readonly workDir: string;
  readonly timezone: string;
  readonly downloadConcurrency: number;
  readonly batchMaxObjects: number;
  readonly batchMaxBytes: number;
  readonly lookbackDays: number;
  readonly lockWaitMs: number;
  readonly memoryLimit: string;
  readonly threads: number | undefined;
  /** Reconcile ends with the Parquet export of the days that changed (jobs/steps/parquet.ts). */
  readonly exportParquet: boolean;
  readonly schedules: { readonly reconcile: string; readonly full: string };
  readonly dailyReport: { readonly by: readonly string[]; readonly formats: readonly ('csv' | 'json' | 'md' | 'html')[] };
  readonly priceOverridesFile: string | undefined;
  /** pricing.refresh: the price data source every re-price run reads (else the bundled data). */
  readonly priceRefresh: RefreshSettings | undefined;
  /** The last good copy of the refreshed price data. */
  readonly priceDataFile: string;
  /** Budget alert thresholds and webhook (jobs/alerts.ts). */
  readonly alerts: AlertSettings;
  /** Budgets that live in the config rather than the store (key budgets, the default customer budget). */
  readonly budgets: BudgetSettings;
}

export interface ConfiguredBudget {
  readonly maxBudget: number | null;
  readonly duration: string;
  readonly softBudget: number | null;
}

export interface BudgetSettings {
  readonly keys: readonly (ConfiguredBudget & { readonly alias: string })[];
  readonly defaultCustomer: ConfiguredBudget | null;
  /** Default-budget customers carried in the block-list, highest spend first. */
  readonly blocklistMaxCustomers: number;
}

export function jobSettings(resolved: ResolvedConfig): JobSettings {
  const { config } = resolved;
  const jobs = config.jobs;
  const problems: string[] = [];
  for (const [name, expr] of Object.entries(jobs.schedules)) {
    if (!validCron(expr)) problems.push(`jobs.schedules.${name}: not a valid cron expression: ${JSON.stringify(expr)}`);
  }
  jobs.daily_report.by.forEach((by, i) => {
    try {
      parseDimension(by);
    } catch (err) {
      problems.push(`jobs.daily_report.by.${i}: ${(err as Error).message}`);
    }
  });
  if (!/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(jobs.memory_limit)) {
    problems.push(`jobs.memory_limit: expected a size like 1GB or 512MiB, got ${JSON.stringify(jobs.memory_limit)}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const { dbFile, snapshotFile, reportDir, statusFile, workDir } = resolved.paths;
  return Object.freeze({
    dbFile,
    snapshotFile,
    reportDir,
    statusFile,
    workDir,
    timezone: config.timezone,
    downloadConcurrency: jobs.download_concurrency,
    batchMaxObjects: jobs.batch_max_objects,
    batchMaxBytes: jobs.batch_max_bytes,
    lookbackDays: jobs.ingest_lookback_days,
    lockWaitMs: jobs.lock_wait_seconds * 1000,
    memoryLimit: jobs.memory_limit,
    threads: jobs.threads,
    exportParquet: jobs.export_parquet,
    schedules: Object.freeze({ ...jobs.schedules }),
    dailyReport: Object.freeze({ by: jobs.daily_report.by, formats: jobs.daily_report.formats }),
    priceOverridesFile: config.pricing.overrides_file,
    priceRefresh: config.pricing.refresh,
    priceDataFile: resolved.paths.priceData,
    alerts: alertSettings(config),
    budgets: Object.freeze({
      keys: Object.freeze(resolved.keys.filter((k) => k.budget !== null).map((k) => Object.freeze({ alias: k.alias, ...k.budget! }))),
      defaultCustomer: config.budgets.default_customer_budget
        ? Object.freeze({
            maxBudget: config.budgets.default_customer_budget.max_budget,
            duration: config.budgets.default_customer_budget.budget_duration,
            softBudget: null,
          })
        : null,
      blocklistMaxCustomers: config.budgets.blocklist_max_customers,
    }),
  });
}

