// `tagspend trueup <import|fetch|report>`: providers' bills into DuckDB, allocated to the records,
// and compared with the estimates (docs/trueup.md). The work's modules (DuckDB, the store, the
// runner) are imported by the handlers, so `--help` and a bad argument stay fast.
import { readFile, writeFile } from 'node:fs/promises';
import type { Argv, CommandModule } from 'yargs';
import { dataOptions, type DataArgs } from '../options.ts';
import { BillRejectedError } from '../../errors.ts';
import { addDays, isDate, localDate } from '../../report/calendar.ts';
import { renderTable, TABLE_FORMATS, type TableFormat } from '../../report/render/format.ts';
import { BILL_SOURCES, MAX_LISTED_PROBLEMS, problemText, type BillLine, type BillSource } from '../../trueup/bill.ts';
import { FETCH_PROVIDERS, fetchBillPages, type FetchProvider } from '../../trueup/fetch.ts';
import { parseBillFiles, type BillFile } from '../../trueup/parse.ts';
import { commandContext } from '../context.ts';
import { failCommand } from '../fail.ts';

type CommonArgs = DataArgs;

function checkDates(a: { from?: unknown; to?: unknown }): true {
  for (const name of ['from', 'to'] as const) {
    const v = a[name];
    if (v !== undefined && !isDate(String(v))) throw new Error(`--${name} must be a date YYYY-MM-DD, got ${String(v)}`);
  }
  if (a.from !== undefined && a.to !== undefined && String(a.from) > String(a.to)) throw new Error('--from must not be after --to');
  return true;
}

/** Parses every file; throws with every problem (up to a limit) when any has one. */
function validated(source: BillSource, files: readonly BillFile[]): BillLine[] {
  const parsed = parseBillFiles(source, files);
  if (parsed.problems.length > 0) {
    const listed = parsed.problems.slice(0, MAX_LISTED_PROBLEMS).map(problemText);
    const more = parsed.problems.length - listed.length;
    throw new BillRejectedError(
      [`the bill was rejected; nothing was imported (${parsed.problems.length} problem${parsed.problems.length === 1 ? '' : 's'}):`, ...listed.map((p) => `  ${p}`), ...(more > 0 ? [`  ... and ${more} more`] : [])].join('\n'),
      parsed.problems.map(problemText),
    );
  }
  return parsed.lines;
}

/** Imports validated lines as one trueup job run (import, allocate, roll up, publish the snapshot). */
async function importLines(argv: CommonArgs, lines: readonly BillLine[]): Promise<void> {
  const { resolved, logger } = commandContext(argv, { data_dir: argv['data-dir'], store: { url: argv.store } });
  const [{ terminalProgress }, { runJob, summaryLine }, { jobSettings }, { openConfiguredStore }] = await Promise.all([
    import('../../../jobs/run/progress.ts'),
    import('../../../jobs/run/runner.ts'),
    import('../../../jobs/run/settings.ts'),
    import('../../spool/shipping.ts'),
  ]);
  const settings = jobSettings(resolved);
  const store = openConfiguredStore(resolved);
  try {
    const summary = await runJob({ job: 'trueup', trigger: 'cli', bill: lines }, { settings, store, log: logger, progress: terminalProgress(process.stderr) });
    const days = new Set(lines.map((l) => `${l.provider} ${l.day}`)).size;
    process.stdout.write(`read ${lines.length} bill line(s) for ${days} provider-day(s)\n${summaryLine(summary)}\n`);
    if (summary.status === 'failed') process.exitCode = 1;
  } finally {
    await store.close();
  }
}

interface ImportArgs extends CommonArgs {
  provider: BillSource;
  files: string[];
}

const importCommand: CommandModule<CommonArgs, ImportArgs> = {
  command: 'import <files..>',
  describe: "Import a provider's cost export (OpenAI Costs API pages, Anthropic cost report pages, or the generic CSV) and allocate it",
  builder: (y) =>
    dataOptions(y)
      .positional('files', { type: 'string', array: true, demandOption: true, describe: 'Files to import together (all or nothing)' })
      .option('provider', { choices: BILL_SOURCES, demandOption: true, describe: 'Format of the files: openai, anthropic or csv (date,provider,model,description,amount_usd)' })
      .example('$0 trueup import --provider openai costs-2026-11.json', '')
      .example('$0 trueup import --provider csv invoice.csv', '') as never,
  handler: async (argv) => {
    try {
      const files: BillFile[] = [];
      for (const name of argv.files) files.push({ name, text: await readFile(name, 'utf8') });
      await importLines(argv, validated(argv.provider, files));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        process.stderr.write(`tagspend: ${(err as Error).message}\n`);
        process.exitCode = 1;
        return;
      }
      failCommand(err);
    }
  },
};

interface FetchArgs extends CommonArgs {
  provider: FetchProvider;
  from?: string;
  to?: string;
  save?: string;
}

const fetchCommand: CommandModule<CommonArgs, FetchArgs> = {
  command: 'fetch',
  describe: "Fetch a provider's daily costs with an admin key from the environment, import and allocate them",
  builder: (y) =>
    dataOptions(y)
      .option('provider', { choices: FETCH_PROVIDERS, demandOption: true, describe: 'openai (Costs API) or anthropic (Admin cost report)' })
      .option('from', { type: 'string', describe: 'First UTC day, YYYY-MM-DD (default: 7 days before --to)' })
      .option('to', { type: 'string', describe: 'Last UTC day, inclusive (default: yesterday, UTC)' })
      .option('save', { type: 'string', describe: 'Also write the pages as fetched to this file (re-importable with trueup import)' })
      .check(checkDates)
      .example('OPENAI_ADMIN_KEY=sk-admin-... $0 trueup fetch --provider openai --from 2026-11-01 --to 2026-11-30', '') as never,
  handler: async (argv) => {
    try {
      const { resolved } = commandContext(argv, { data_dir: argv['data-dir'], store: { url: argv.store } });
      const cfg = resolved.config.trueup[argv.provider];
      // Read once, here at start: the key never goes into config or logs.
      const adminKey = process.env[cfg.admin_key_env];
      if (!adminKey) {
        process.stderr.write(`tagspend: set ${cfg.admin_key_env} to an admin key of the ${argv.provider} organization (trueup.${argv.provider}.admin_key_env)\n`);
        process.exitCode = 2;
        return;
      }
      const to = argv.to ?? addDays(localDate(new Date(), 'UTC'), -1);
      const from = argv.from ?? addDays(to, -6);
      const pages = await fetchBillPages({
        provider: argv.provider,
        baseUrl: cfg.base_url,
        adminKey,
        from,
        to,
        timeoutMs: resolved.config.trueup.fetch_timeout_ms,
        onPage: (n) => process.stderr.write(`fetched ${argv.provider} cost page ${n}\n`),
      });
      if (argv.save) await writeFile(argv.save, `[\n${pages.map((p) => p.text.trim()).join(',\n')}\n]\n`);
      const lines = validated(
        argv.provider,
        pages.map((p, i) => ({ name: `${argv.provider} page ${i + 1}`, text: p.text })),
      );
      await importLines(argv, lines);
    } catch (err) {
      failCommand(err);
    }
  },
};

interface ReportArgs extends CommonArgs {
  from?: string;
  to?: string;
  format: TableFormat;
  db?: string;
}

const reportCommand: CommandModule<CommonArgs, ReportArgs> = {
  command: 'report',
  describe: 'Estimated vs billed cost per UTC day and provider; exit 1 when a difference passes trueup.alert_pct',
  builder: (y) =>
    dataOptions(y)
      .option('from', { type: 'string', describe: 'First UTC day (default: the 1st of this month)' })
      .option('to', { type: 'string', describe: 'Last UTC day, inclusive (default: today)' })
      .option('format', { alias: 'f', choices: TABLE_FORMATS, default: 'table' as TableFormat, describe: 'Output format' })
      .option('db', { type: 'string', describe: 'snapshot (default), main, or a path to a DuckDB file' })
      .check(checkDates) as never,
  handler: async (argv) => {
    try {
      const { resolved } = commandContext(argv, { data_dir: argv['data-dir'], store: { url: argv.store } });
      const today = localDate(new Date(), 'UTC');
      const period = { from: argv.from ?? `${today.slice(0, 8)}01`, to: argv.to ?? today };
      const [{ openForReading }, { buildTrueupReport }] = await Promise.all([import('../../report/open.ts'), import('../../report/trueup.ts')]);
      const db = await openForReading(resolved.paths, argv.db);
      let report;
      try {
        report = await buildTrueupReport(db.conn, period, resolved.config.trueup.alert_pct);
      } finally {
        db.close();
      }
      process.stdout.write(renderTable(report.table, argv.format));
      if (argv.format === 'table' || argv.format === 'md') for (const n of report.notes) process.stdout.write(`note: ${n}\n`);
      for (const a of report.alerts) process.stderr.write(`tagspend: true-up alert: ${a.text}\n`);
      if (report.alerts.length > 0) process.exitCode = 1;
    } catch (err) {
      failCommand(err);
    }
  },
};

export const trueupCommand: CommandModule<CommonArgs, CommonArgs> = {
  command: 'trueup <command>',
  describe: "Invoice true-up: import providers' bills, allocate them to the records, compare with the estimates",
  builder: (y) => y.command(importCommand).command(fetchCommand).command(reportCommand).demandCommand(1) as never,
  handler: () => {},
};
