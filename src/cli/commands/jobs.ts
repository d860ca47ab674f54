// `tagspend jobs run <job>` and `tagspend jobs schedule`: the reconciliation jobs (docs/jobs.md).
// The work's modules (DuckDB, the AWS SDK ...) are imported by the handlers, not here: `--help`
// and the other commands do not pay for loading them.
import type { Argv, CommandModule } from 'yargs';
import { dataOptions, type DataArgs } from '../options.ts';
import { isDate } from '../../report/calendar.ts';
import { JOB_NAMES, type JobName } from '../../../jobs/run/names.ts';
import { commandContext } from '../context.ts';
import { failCommand } from '../fail.ts';

type CommonArgs = DataArgs;

interface RunArgs extends CommonArgs {
  job: JobName;
  full?: boolean;
  all?: boolean;
  day?: string;
  wait?: number;
}

async function setup(argv: CommonArgs, jobs: Record<string, unknown> = {}) {
  const { resolved, logger } = commandContext(argv, { data_dir: argv['data-dir'], store: { url: argv.store }, jobs });
  const { jobSettings } = await import('../../../jobs/run/settings.ts');
  return { resolved, logger, settings: jobSettings(resolved) };
}

const runCommand: CommandModule<CommonArgs, RunArgs> = {
  command: 'run <job>',
  describe: 'Run one job now: ingest, reprice, rollup, budgets, reconcile (all of them, in order) or report',
  builder: (y) =>
    dataOptions(y)
      .positional('job', { choices: JOB_NAMES, demandOption: true, describe: 'The job to run' })
      .option('full', { type: 'boolean', describe: 'ingest/reconcile: list every object, not only recent partitions; trueup: allocate every billed day again; parquet: write every day again' })
      .option('all', { type: 'boolean', describe: 'reprice: re-price every record with the current prices, not only those logged without one' })
      .option('day', { type: 'string', describe: 'report: the day to report, YYYY-MM-DD (default: yesterday)' })
      .option('wait', { type: 'number', describe: 'Seconds to wait for another job holding the DuckDB file (jobs.lock_wait_seconds)' })
      .check((a) => {
        if (a.day !== undefined && !isDate(a.day)) throw new Error(`--day must be a date YYYY-MM-DD, got ${a.day}`);
        return true;
      }) as never,
  handler: async (argv) => {
    const { logger, resolved, settings } = await setup(argv, { lock_wait_seconds: argv.wait });
    const [{ openConfiguredStore }, { runJob, summaryLine }, { terminalProgress }] = await Promise.all([
      import('../../spool/shipping.ts'),
      import('../../../jobs/run/runner.ts'),
      import('../../../jobs/run/progress.ts'),
    ]);
    const store = openConfiguredStore(resolved);
    const abort = new AbortController();
    const stop = (): void => abort.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      const summary = await runJob(
        { job: argv.job, trigger: 'cli', ...(argv.full ? { full: true } : {}), ...(argv.all ? { all: true } : {}), ...(argv.day ? { reportDay: argv.day } : {}) },
        { settings, store, log: logger, progress: terminalProgress(process.stderr), signal: abort.signal },
      );
      process.stdout.write(`${summaryLine(summary)}\n`);
      for (const f of summary.reportFiles) process.stdout.write(`${f}\n`);
      if (summary.status === 'failed') process.exitCode = 1;
    } catch (err) {
      failCommand(err);
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await store.close();
    }
  },
};

const scheduleCommand: CommandModule<CommonArgs, CommonArgs> = {
  command: 'schedule',
  describe: 'Run the jobs on their schedules until SIGTERM (jobs.schedules, in the configured timezone)',
  builder: (y) => dataOptions(y) as never,
  handler: async (argv) => {
    const { logger, resolved, settings } = await setup(argv);
    const [{ openConfiguredStore }, { runJob, summaryLine }, { defaultEntries, Scheduler }] = await Promise.all([
      import('../../spool/shipping.ts'),
      import('../../../jobs/run/runner.ts'),
      import('../../../jobs/run/scheduler.ts'),
    ]);
    const store = openConfiguredStore(resolved);
    const scheduler = new Scheduler({
      entries: defaultEntries(settings.schedules),
      timezone: settings.timezone,
      log: logger,
      run: (req, signal) => runJob(req, { settings, store, log: logger, signal }),
    });
    scheduler.on('run', (s) => logger.info({ summary: summaryLine(s) }, 'run finished'));
    scheduler.start();
    await new Promise<void>((resolve) => {
      const stop = (signal: string): void => {
        logger.info({ signal, running: scheduler.busy }, 'stopping: the current run ends at its next safe point');
        scheduler.stop().then(resolve, (err) => {
          logger.error({ err }, 'scheduler stop failed');
          process.exitCode = 1;
          resolve();
        });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    await store.close();
  },
};

interface StatusArgs extends CommonArgs {
  'max-age'?: number;
  format: 'table' | 'json';
}

const statusCommand: CommandModule<CommonArgs, StatusArgs> = {
  command: 'status',
  describe: 'How each job\'s last run ended (jobs.status_file); exit 1 when one failed or, with --max-age, reconcile is stale',
  builder: (y) =>
    dataOptions(y)
      .option('max-age', { type: 'number', describe: 'Also fail when the last successful reconcile is older than this many seconds' })
      .option('format', { alias: 'f', choices: ['table', 'json'] as const, default: 'table' as const, describe: 'Output format' })
      .example('$0 jobs status --max-age 1800', 'a monitoring check: exit 1 with the reasons on stderr') as never,
  handler: async (argv) => {
    const { settings } = await setup(argv);
    const [{ readStatus, statusProblems }, { renderTable }] = await Promise.all([
      import('../../../jobs/run/status-file.ts'),
      import('../../report/render/format.ts'),
    ]);
    const status = await readStatus(settings.statusFile);
    if (argv.format === 'json') process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    else if (Object.keys(status).length === 0) process.stdout.write(`no job run recorded in ${settings.statusFile} yet\n`);
    else {
      const rows = Object.keys(status)
        .sort()
        .map((job) => {
          const s = status[job]!;
          return {
            job,
            status: s.last_run.status,
            ended_at: s.last_run.ended_at,
            duration_s: String(s.last_run.duration_seconds),
            rows: String(s.last_run.rows),
            rejected: String(s.last_run.rejected),
            failures_in_a_row: String(s.consecutive_failures),
            last_success_at: s.last_success_at,
          };
        });
      process.stdout.write(renderTable({ columns: Object.keys(rows[0]!), rows }, 'table'));
    }
    const problems = statusProblems(status, Date.now(), argv['max-age']);
    for (const p of problems) process.stderr.write(`tagspend: ${p}\n`);
    if (problems.length > 0) process.exitCode = 1;
  },
};

export const jobsCommand: CommandModule<CommonArgs, CommonArgs> = {
  command: 'jobs <command>',
  describe: 'Reconciliation jobs: load spend logs into DuckDB, roll up, re-price, report',
  builder: (y) => y.command(runCommand).command(scheduleCommand).command(statusCommand).demandCommand(1) as never,
  handler: () => {},
};
