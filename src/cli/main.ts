// The `tagspend` command line. Each command is a module in ./commands; this file only wires them.
import yargs from 'yargs';
import { ConfigError } from '../errors.ts';
import { commands } from './commands/index.ts';

export async function main(argv: string[]): Promise<void> {
  const cli = yargs(argv)
    .scriptName('tagspend')
    .usage('$0 <command> [options]')
    .option('config', {
      alias: 'c',
      type: 'string',
      describe: 'YAML/JSON config file (also TAGSPEND_CONFIG)',
      global: true,
    })
    .strictCommands()
    .demandCommand(1, 'name a command; see --help')
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .version()
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`${msg}\n\nRun with --help for usage.\n`);
      process.exit(2);
    });
  for (const command of commands) cli.command(command);
  try {
    await cli.parseAsync();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tagspend: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`tagspend: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  }
}
