// `tagspend mock-upstream`: the simulated OpenAI-compatible provider as its own process, for the
// demo, benchmarks and trying the proxy without a provider key. Runs until SIGINT/SIGTERM.
import type { CommandModule } from 'yargs';

interface Args {
  port: number;
  host: string;
  'latency-ms': number;
  'chunk-delay-ms': number;
}

export const mockUpstreamCommand: CommandModule<object, Args> = {
  command: 'mock-upstream',
  describe: 'Run a simulated provider (OpenAI-compatible endpoints and Anthropic\'s Messages API) with deterministic usage (default port 4010)',
  builder: (y) =>
    y
      .option('port', { type: 'number', default: 4010, describe: 'Listen port (0 picks a free one)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'Listen address' })
      .option('latency-ms', { type: 'number', default: 0, describe: 'Delay before every answer' })
      .option('chunk-delay-ms', { type: 'number', default: 0, describe: 'Delay between stream chunks' }) as never,
  handler: async (argv) => {
    const { startMockUpstream } = await import('../../mock/upstream.ts');
    const upstream = await startMockUpstream({
      port: argv.port,
      host: argv.host,
      latencyMs: argv['latency-ms'],
      chunkDelayMs: argv['chunk-delay-ms'],
    });
    process.stdout.write(`mock upstream listening on ${upstream.url}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        upstream.close().then(resolve, (err: unknown) => {
          process.stderr.write(`mock upstream: close failed: ${String(err)}\n`);
          process.exitCode = 1;
          resolve();
        });
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    process.stdout.write(`mock upstream stopped after ${upstream.requests} requests\n`);
  },
};
