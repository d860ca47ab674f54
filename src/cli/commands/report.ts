// `tagspend report`: spend, requests and tokens of a period by one dimension (src/report/query.ts).
import { writeFile } from 'node:fs/promises';
import type { CommandModule } from 'yargs';
import { firstOfMonth, isDate, localDate } from '../../report/calendar.ts';
import { DIMENSION_HELP, parseDimension } from '../../report/dimensions.ts';
import type { ReportBasis, ReportFormat } from '../../report/query.ts';
import type { ResolvedConfig } from '../../config/load.ts';
import { commandContext } from '../context.ts';
import { failCommand } from '../fail.ts';

interface Args {
  config?: string;
  by: string;
  from?: string;
  to?: string;
  format: ReportFormat;
  basis: ReportBasis;
  db?: string;
  out?: string;
  'data-dir'?: string;
  store?: string;
}

const FORMATS: readonly ReportFormat[] = ['md', 'csv', 'json', 'html', 'table'];

/** The tag hygiene report: the snapshot for usage, the store for the tag definitions. */
async function hygieneText(resolved: ResolvedConfig, period: { from: string; to: string }, argv: Args): Promise<string> {
  const [{ openForReading }, { buildHygieneReport, hygieneOptions, renderHygiene }, { openConfiguredStore }, { TagRegistry }] = await Promise.all([
    import('../../report/open.ts'),
    import('../../report/hygiene.ts'),
    import('../../spool/shipping.ts'),
    import('../../budget/tags.ts'),
  ]);
  const store = openConfiguredStore(resolved);
  let definitions: Set<string> | null;
  try {
    definitions = new Set((await new TagRegistry(store).list()).map((d) => d.name));
  } catch {
    definitions = null;
  } finally {
    await store.close();
  }
  const db = await openForReading(resolved.paths, argv.db);
  try {
    const report = await buildHygieneReport(db.conn, period, hygieneOptions(resolved.config, definitions));
    return renderHygiene(report, argv.format);
  } finally {
    db.close();
  }
}

export const reportCommand: CommandModule<object, Args> = {
  command: 'report',
  describe: 'Allocation report: spend, requests and tokens by tag, tag key, user, metadata field, model or key',
  builder: (y) =>
    y
      .option('by', { type: 'string', demandOption: true, describe: `Dimension: ${DIMENSION_HELP}; or hygiene (tag hygiene findings)` })
      .option('from', { type: 'string', describe: 'First day, YYYY-MM-DD (default: the 1st of this month)' })
      .option('to', { type: 'string', describe: 'Last day, inclusive, YYYY-MM-DD (default: today); days in the configured timezone' })
      .option('format', { alias: 'f', choices: FORMATS, default: 'md' as ReportFormat, describe: 'Output format' })
      .option('basis', { choices: ['estimated', 'billed'] as const, default: 'estimated' as ReportBasis, describe: 'estimated: the priced cost; billed: shares of imported provider bills (tagspend trueup), with an (unattributed) row' })
      .option('db', { type: 'string', describe: 'snapshot (default), main, or a path to a DuckDB file' })
      .option('out', { alias: 'o', type: 'string', describe: 'Write to this file instead of stdout' })
      .option('data-dir', { type: 'string', describe: 'Local data directory (TAGSPEND_DATA_DIR)' })
      .option('store', { type: 'string', describe: 'Object store URL, for the tag definitions of --by hygiene (TAGSPEND_STORE__URL)' })
      .check((a) => {
        for (const name of ['from', 'to'] as const) {
          const v = a[name];
          if (v !== undefined && !isDate(String(v))) throw new Error(`--${name} must be a date YYYY-MM-DD, got ${String(v)}`);
        }
        if (String(a.by).trim() !== 'hygiene') parseDimension(String(a.by));
        return true;
      })
      .example('$0 report --by tag:team --from 2026-11-01 --to 2026-11-30 --format csv', '')
      .example('$0 report --by hygiene', 'tags to fix: not key:value, near-duplicates, untagged shares, undefined, new, required keys missing') as never,
  handler: async (argv) => {
    const { resolved } = commandContext(argv, { data_dir: argv['data-dir'], store: { url: argv.store } });
    const timezone = resolved.config.timezone;
    const today = localDate(new Date(), timezone);
    const from = argv.from ?? firstOfMonth(today);
    const to = argv.to ?? today;
    try {
      if (argv.by.trim() === 'hygiene') {
        const text = await hygieneText(resolved, { from, to }, argv);
        if (argv.out) await writeFile(argv.out, text);
        else process.stdout.write(text);
        return;
      }
      // Loaded here, not at the top: only this command pays for DuckDB.
      const [{ openForReading }, { buildReport, renderReport }] = await Promise.all([import('../../report/open.ts'), import('../../report/query.ts')]);
      const db = await openForReading(resolved.paths, argv.db);
      let text: string;
      try {
        text = renderReport(await buildReport(db.conn, { from, to, by: parseDimension(argv.by), basis: argv.basis }, timezone), argv.format);
      } finally {
        db.close();
      }
      if (argv.out) await writeFile(argv.out, text);
      else process.stdout.write(text);
    } catch (err) {
      failCommand(err);
    }
  },
};
