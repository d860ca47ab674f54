// `tagspend ship`: ship whatever waits in the spool once, then exit (operators, cron, a host whose
// proxy is gone for good). It takes the spool lock like the proxy does, because it also recovers
// active segments left by a crash, which is only safe when no process is writing them. A running
// proxy ships its own segments, so when one holds the lock this command says so and does nothing
// (exit code 3) rather than racing it for the same files.
import { mkdirSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { commandContext } from '../context.ts';

interface Args {
  config?: string;
  'data-dir'?: string;
  store?: string;
  timeout: number;
}

export const EXIT_SPOOL_IN_USE = 3;

export const shipCommand: CommandModule<object, Args> = {
  command: 'ship',
  describe: 'Ship the spend segments waiting in the local spool to the object store, once',
  builder: (y) =>
    y
      .option('data-dir', { type: 'string', describe: 'Local data directory (TAGSPEND_DATA_DIR)' })
      .option('store', { type: 'string', describe: 'Object store URL: file://dir or s3://bucket/prefix (TAGSPEND_STORE__URL)' })
      .option('timeout', { type: 'number', default: 300, describe: 'Give up after this many seconds of retrying; what is left stays in the spool' })
      .epilogue(
        'Segments still being written by a crashed proxy are closed first (a torn last line is cut off). ' +
          `When a running proxy holds the spool, nothing is done and the exit code is ${EXIT_SPOOL_IN_USE}: that proxy ships ` +
          'its own segments (see tagspend_spool_backlog_* in its /metrics). Exit 0 when everything was shipped, 1 when some is left.',
      ) as never,
  handler: async (argv) => {
    const [{ configuredShipper, openConfiguredStore }, { acquireSpoolLock, SpoolLockedError }, { recoverSpool }] = await Promise.all([
      import('../../spool/shipping.ts'),
      import('../../spool/spool-lock.ts'),
      import('../../spool/writer.ts'),
    ]);
    const { resolved, logger } = commandContext(argv, { data_dir: argv['data-dir'], store: { url: argv.store } });
    const spoolDir = resolved.paths.spool;
    mkdirSync(spoolDir, { recursive: true });
    let lock: { release(): void };
    try {
      lock = acquireSpoolLock(spoolDir);
    } catch (err) {
      if (!(err instanceof SpoolLockedError)) throw err;
      process.stderr.write(`tagspend ship: ${err.message}\nA running proxy ships its own segments; nothing was done.\n`);
      process.exitCode = EXIT_SPOOL_IN_USE;
      return;
    }
    const store = openConfiguredStore(resolved);
    try {
      recoverSpool(spoolDir, logger);
      const shipper = configuredShipper(resolved, store, logger);
      let bytes = 0;
      let gzipBytes = 0;
      shipper.on('shipped', (s) => {
        bytes += s.bytes;
        gzipBytes += s.gzipBytes;
      });
      const pending = shipper.enqueueSpool(spoolDir);
      const complete = await shipper.drain(argv.timeout * 1000);
      const left = shipper.backlog();
      process.stdout.write(
        `shipped ${shipper.shippedCount} of ${pending} segments (${bytes} bytes, ${gzipBytes} gzipped) to ${store.url}` +
          (complete ? '\n' : `; ${left.files} segments (${left.bytes} bytes) left in ${spoolDir} after ${shipper.failureCount} failed attempts\n`),
      );
      if (!complete) process.exitCode = 1;
    } finally {
      await store.close().catch(() => {});
      lock.release();
    }
  },
};
