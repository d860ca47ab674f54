// Run as a child process by pieces.test.ts: allocates the pending bills in pieces of argv[4]
// records and SIGKILLs itself right after committed transaction number argv[5] (a real crash
// between pieces: no finally blocks, DuckDB recovers from its WAL on the next open).
import { loadConfig } from '../../src/config/load.ts';
import { openWriter } from '../../src/db/open.ts';
import { prepareWriter } from '../../src/db/migrate.ts';
import { silentLogger } from '../../src/log.ts';
import { LocalStore } from '../../src/store/local.ts';
import { runTrueup } from '../../jobs/steps/trueup.ts';
import { silentProgress } from '../../jobs/run/progress.ts';
import { jobSettings } from '../../jobs/run/settings.ts';

const [dataDir, storeUrl, pieceRows, killAt] = process.argv.slice(2);
const settings = jobSettings(loadConfig({ env: {}, overrides: { data_dir: dataDir, store: { url: storeUrl }, jobs: { threads: 2 } } }));
const db = await openWriter(settings.dbFile, { threads: 2 });
await prepareWriter(db.conn, db.path);
let commits = 0;
await runTrueup(
  { db, store: new LocalStore(storeUrl!), settings, log: silentLogger, now: () => new Date('2026-11-21T12:00:00Z'), runId: 2, progress: silentProgress },
  {
    pieceRows: Number(pieceRows),
    hooks: {
      afterCommit() {
        if (++commits === Number(killAt)) process.kill(process.pid, 'SIGKILL');
      },
    },
  },
);
db.close();
