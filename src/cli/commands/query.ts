// `tagspend query "<SQL>"`: read-only SQL against the published snapshot (or the main file).
import type { CommandModule } from 'yargs';
import { TABLE_FORMATS, type TableFormat } from '../../report/render/format.ts';
import { commandContext } from '../context.ts';
import { failCommand } from '../fail.ts';

interface Args {
  config?: string;
  sql: string;
  format: TableFormat;
  db?: string;
  'allow-files'?: boolean;
  'data-dir'?: string;
}

export const queryCommand: CommandModule<object, Args> = {
  command: 'query <sql>',
  describe: 'Run read-only SQL against the spend database and print a table, CSV, JSON or Markdown',
  builder: (y) =>
    y
      .positional('sql', { type: 'string', demandOption: true, describe: 'The SQL, e.g. "SELECT * FROM rollup_daily ORDER BY day"' })
      .option('format', { alias: 'f', choices: TABLE_FORMATS, default: 'table' as TableFormat, describe: 'Output format' })
      .option('db', { type: 'string', describe: 'snapshot (default: readable while jobs run), main (the jobs\' file), or a path' })
      .option('allow-files', {
        type: 'boolean',
        describe: 'Let the SQL read and write files (COPY ... TO, read_csv, glob, ATTACH); off by default: the file system is out of reach',
      })
      .option('data-dir', { type: 'string', describe: 'Local data directory (TAGSPEND_DATA_DIR)' })
      .example('$0 query "SELECT tag, sum(spend_usd) FROM rollup_daily_tag GROUP BY tag ORDER BY 2 DESC"', '') as never,
  handler: async (argv) => {
    const { resolved } = commandContext(argv, { data_dir: argv['data-dir'] });
    try {
      // Loaded here, not at the top: only this command pays for DuckDB.
      const [{ openForReading }, { runUserQuery }, { renderTable }] = await Promise.all([
        import('../../report/open.ts'),
        import('../../db/user-query.ts'),
        import('../../report/render/format.ts'),
      ]);
      const db = await openForReading(resolved.paths, argv.db, { allowFiles: argv['allow-files'] === true });
      try {
        process.stdout.write(renderTable(await runUserQuery(db.conn, argv.sql), argv.format));
      } finally {
        db.close();
      }
    } catch (err) {
      failCommand(err);
    }
  },
};
