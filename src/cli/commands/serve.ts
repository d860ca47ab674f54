// `tagspend serve`: the dashboard and spend API over the read-only snapshot, until SIGTERM/SIGINT.
import type { CommandModule } from 'yargs';
import { commandContext } from '../context.ts';

interface Args {
  config?: string;
  port?: number;
  host?: string;
  'data-dir'?: string;
}

export const serveCommand: CommandModule<object, Args> = {
  command: 'serve',
  describe: 'Dashboard and spend API (LiteLLM-compatible) over the read-only snapshot (default port 4100)',
  builder: (y) =>
    y
      .option('port', { type: 'number', describe: 'Listen port (TAGSPEND_SERVE__PORT, default 4100)' })
      .option('host', { type: 'string', describe: 'Listen address (TAGSPEND_SERVE__HOST, default 127.0.0.1)' })
      .option('data-dir', { type: 'string', describe: 'Local data directory (TAGSPEND_DATA_DIR)' }) as never,
  handler: async (argv) => {
    const { resolved, logger } = commandContext(argv, { data_dir: argv['data-dir'], serve: { port: argv.port, host: argv.host } });
    const { startServe } = await import('../../serve/server.ts');
    const serve = await startServe(resolved, { logger });
    process.stdout.write(`tagspend serve: open ${serve.url}/ (snapshot ${resolved.paths.snapshotFile})\n`);
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        logger.info({ signal }, 'shutting down');
        serve.close().then(resolve, resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  },
};
