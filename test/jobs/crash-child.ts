// Run as a child process by ingest.test.ts: ingests, and SIGKILLs itself inside the batch
// transaction of batch number argv[4] after every write and before COMMIT (a real crash:
// no finally blocks, no rollback, DuckDB must recover from its WAL on the next open).
import { loadConfig } from '../../src/config/load.ts';
import { openWriter } from '../../src/db/open.ts';
import { prepareWriter } from '../../src/db/migrate.ts';
import { silentLogger } from '../../src/log.ts';
import { LocalStore } from '../../src/store/local.ts';
import { runIngest } from '../../jobs/steps/ingest.ts';
import { silentProgress } from '../../jobs/run/progress.ts';
import { jobSettings } from '../../jobs/run/settings.ts';

const [dataDir, storeUrl, batchMax, killAt] = process.argv.slice(2);
const settings = jobSettings(
  loadConfig({ env: {}, overrides: { data_dir: dataDir, store: { url: storeUrl }, jobs: { batch_max_objects: Number(batchMax), threads: 2 } } }),
);
const db = await openWriter(settings.dbFile, { threads: 2 });
await prepareWriter(db.conn, db.path);
let batch = 0;
await runIngest(
  { db, store: new LocalStore(storeUrl!), settings, log: silentLogger, now: () => new Date('2026-11-10T12:00:00Z'), runId: 1, progress: silentProgress },
  {
    hooks: {
      beforeCommit() {
        if (++batch === Number(killAt)) process.kill(process.pid, 'SIGKILL');
      },
    },
  },
);
db.close();
