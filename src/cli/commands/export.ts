// `tagspend export <focus|parquet>`: FinOps FOCUS 1.2 rows to a file (docs/focus.md), and
// spend_logs to the store as Hive-partitioned Parquet for other engines (docs/scale.md).
import type { Argv, CommandModule } from 'yargs';
import { dataOptions, type DataArgs } from '../options.ts';
import type { FocusBasis, FocusFormat } from '../../export/focus.ts';
import { isDate, localDate } from '../../report/calendar.ts';
import { commandContext } from '../context.ts';
import { failCommand } from '../fail.ts';

type CommonArgs = DataArgs;

interface FocusArgs extends CommonArgs {
  from?: string;
  to?: string;
  format: FocusFormat;
  basis: FocusBasis;
  out?: string;
  db?: string;
}

const focusCommand: CommandModule<CommonArgs, FocusArgs> = {
  command: 'focus',
  describe: 'FinOps FOCUS 1.2 cost and usage rows (one per UTC day x API key x model x tag set x token type) as CSV or Parquet',
  builder: (y) =>
    dataOptions(y)
      .option('from', { type: 'string', describe: 'First UTC day, YYYY-MM-DD (default: the 1st of this month)' })
      .option('to', { type: 'string', describe: 'Last UTC day, inclusive (default: today)' })
      .option('format', { alias: 'f', choices: ['csv', 'parquet'] as const, default: 'csv' as FocusFormat, describe: 'File format' })
      .option('basis', { choices: ['estimated', 'billed'] as const, default: 'estimated' as FocusBasis, describe: 'BilledCost from the estimate, or from the allocated provider bills (tagspend trueup)' })
      .option('out', { alias: 'o', type: 'string', describe: 'Output file (default: focus-<from>-<to>.<format> here)' })
      .option('db', { type: 'string', describe: 'snapshot (default), main, or a path to a DuckDB file' })
      .check((a) => {
        for (const name of ['from', 'to'] as const) {
          const v = a[name];
          if (v !== undefined && !isDate(String(v))) throw new Error(`--${name} must be a date YYYY-MM-DD, got ${String(v)}`);
        }
        return true;
      })
      .example('$0 export focus --from 2026-11-01 --to 2026-11-30 --format parquet --basis billed', '') as never,
  handler: async (argv) => {
    try {
      const { resolved } = commandContext(argv, { data_dir: argv['data-dir'], store: { url: argv.store } });
      const today = localDate(new Date(), 'UTC');
      const from = argv.from ?? `${today.slice(0, 8)}01`;
      const to = argv.to ?? today;
      const file = argv.out ?? `focus-${from}-${to}.${argv.format}`;
      const [{ openForReading }, { exportFocus }, { loadPriceTable }, { resolve }] = await Promise.all([
        import('../../report/open.ts'),
        import('../../export/focus.ts'),
        import('../../spend/pricing.ts'),
        import('node:path'),
      ]);
      const overridesFile = resolved.config.pricing.overrides_file;
      const prices = await loadPriceTable(overridesFile ? { overridesFile } : {});
      // Our own statements write the file: the snapshot is opened with file access on.
      const db = await openForReading(resolved.paths, argv.db, { allowFiles: true });
      try {
        const r = await exportFocus(db.conn, { from, to, basis: argv.basis, format: argv.format, file: resolve(file) }, prices);
        process.stdout.write(`${file}: ${r.rows} FOCUS 1.2 rows, BilledCost ${r.billedCost} USD (${argv.basis}, ${from} to ${to} UTC)\n`);
      } finally {
        db.close();
      }
    } catch (err) {
      failCommand(err);
    }
  },
};

interface ParquetArgs extends CommonArgs {
  full?: boolean;
  wait?: number;
}

const parquetCommand: CommandModule<CommonArgs, ParquetArgs> = {
  command: 'parquet',
  describe: 'Write spend_logs to the store as parquet/spend_logs/dt=YYYY-MM-DD/*.parquet (only the days that changed)',
  builder: (y) =>
    dataOptions(y)
      .option('full', { type: 'boolean', describe: 'Write every day again' })
      .option('wait', { type: 'number', describe: 'Seconds to wait for another job holding the DuckDB file (jobs.lock_wait_seconds)' }) as never,
  handler: async (argv) => {
    try {
      const { resolved, logger } = commandContext(argv, { data_dir: argv['data-dir'], store: { url: argv.store }, jobs: { lock_wait_seconds: argv.wait } });
      const [{ runJob, summaryLine }, { jobSettings }, { openConfiguredStore }, { terminalProgress }] = await Promise.all([
        import('../../../jobs/run/runner.ts'),
        import('../../../jobs/run/settings.ts'),
        import('../../spool/shipping.ts'),
        import('../../../jobs/run/progress.ts'),
      ]);
      const store = openConfiguredStore(resolved);
      try {
        const summary = await runJob(
          { job: 'parquet', trigger: 'cli', ...(argv.full ? { full: true } : {}) },
          { settings: jobSettings(resolved), store, log: logger, progress: terminalProgress(process.stderr) },
        );
        process.stdout.write(`${summaryLine(summary)}\n`);
        if (summary.status === 'failed') process.exitCode = 1;
      } finally {
        await store.close();
      }
    } catch (err) {
      failCommand(err);
    }
  },
};

export const exportCommand: CommandModule<CommonArgs, CommonArgs> = {
  command: 'export <format>',
  describe: 'Export spend: FinOps FOCUS 1.2 files, or Parquet partitions in the store for Athena, Trino and Spark',
  builder: (y) => y.command(focusCommand).command(parquetCommand).demandCommand(1) as never,
  handler: () => {},
};
