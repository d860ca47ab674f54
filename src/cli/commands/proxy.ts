// `tagspend proxy`: run the gateway until SIGTERM/SIGINT, then shut down gracefully.
import { renameSync, writeFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { commandContext } from '../context.ts';

interface Args {
  config?: string;
  port?: number;
  host?: string;
  'data-dir'?: string;
  store?: string;
  'port-file'?: string;
}

export const proxyCommand: CommandModule<object, Args> = {
  command: 'proxy',
  describe: 'Run the OpenAI-compatible gateway (default port 4000)',
  builder: (y) =>
    y
      .option('port', { type: 'number', describe: 'Listen port (TAGSPEND_PORT)' })
      .option('host', { type: 'string', describe: 'Listen address (TAGSPEND_HOST)' })
      .option('data-dir', { type: 'string', describe: 'Local data directory (TAGSPEND_DATA_DIR)' })
      .option('store', { type: 'string', describe: 'Object store URL: file://dir or s3://bucket/prefix (TAGSPEND_STORE__URL)' })
      .option('port-file', { type: 'string', describe: 'Write the bound port to this file once listening (useful with --port 0)' }) as never,
  handler: async (argv) => {
    const { resolved, logger } = commandContext(argv, {
      port: argv.port,
      host: argv.host,
      data_dir: argv['data-dir'],
      store: { url: argv.store },
    });
    // Signal handlers go in before the (possibly slow) start: a SIGTERM that arrives while the
    // spool is being recovered still gets the graceful path once the proxy is up.
    let stopSignal: string | null = null;
    let onStop: ((signal: string) => void) | null = null;
    const signalled = (signal: string) => {
      stopSignal ??= signal;
      onStop?.(signal);
    };
    process.once('SIGTERM', () => signalled('SIGTERM'));
    process.once('SIGINT', () => signalled('SIGINT'));
    const { startProxy } = await import('../../proxy/server.ts');
    const proxy = await startProxy(resolved, { logger, defaultMetrics: true });
    if (argv['port-file']) {
      // Renamed into place so a reader polling for the file never sees it half written.
      const tmp = `${argv['port-file']}.${process.pid}.tmp`;
      writeFileSync(tmp, `${proxy.port}\n`);
      renameSync(tmp, argv['port-file']);
    }
    await new Promise<void>((resolve) => {
      onStop = (signal: string) => {
        logger.info({ signal }, 'shutting down: finishing in-flight requests');
        proxy.close().then(resolve, (err) => {
          logger.error({ err }, 'shutdown failed');
          process.exitCode = 1;
          resolve();
        });
      };
      if (stopSignal) onStop(stopSignal);
    });
    logger.info('proxy stopped');
  },
};
