// `tagspend demo` (also `npm run demo`): the whole loop on the embedded defaults (src/demo/run.ts).
import type { CommandModule } from 'yargs';
import { createLogger } from '../../log.ts';
import { definedOnly } from '../context.ts';
import { failCommand } from '../fail.ts';

interface Args {
  config?: string;
  requests: number;
  concurrency: number;
  budget: number;
  'data-dir'?: string;
}

export const demoCommand: CommandModule<object, Args> = {
  command: 'demo',
  describe: 'Run the whole loop on the simulated provider: proxy, tagged traffic, a budget that blocks, shipping, reconcile, report',
  builder: (y) =>
    y
      .option('requests', { type: 'number', default: 1500, describe: 'How many requests to send' })
      .option('concurrency', { type: 'number', default: 16, describe: 'Requests in flight at once' })
      .option('budget', { type: 'number', default: 0.5, describe: 'Daily budget (USD) of the demo tag app:campaign-writer' })
      .option('data-dir', { type: 'string', describe: 'Local data directory (TAGSPEND_DATA_DIR; default ./data)' }) as never,
  handler: async (argv) => {
    const { runDemo } = await import('../../demo/run.ts');
    try {
      await runDemo({
        configFile: argv.config,
        overrides: definedOnly({ data_dir: argv['data-dir'] }),
        requests: argv.requests,
        concurrency: argv.concurrency,
        budgetUsd: argv.budget,
        logger: createLogger(process.env.TAGSPEND_LOG_LEVEL ?? 'error'),
        out: (line) => process.stdout.write(line + '\n'),
      });
    } catch (err) {
      failCommand(err);
    }
  },
};
