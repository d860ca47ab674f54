// `tagspend config`: validates the configuration exactly as every command does at start and
// prints the effective settings (defaults < file < TAGSPEND_* env < flags), secrets masked.
// Invalid configuration: every problem listed, exit status 2, like any other command.
import type { CommandModule } from 'yargs';
import { stringify } from 'yaml';
import { effectiveConfig } from '../../config/effective.ts';
import { commandContext } from '../context.ts';

interface Args {
  config?: string;
  format: 'yaml' | 'json';
}

export const configCommand: CommandModule<object, Args> = {
  command: 'config',
  describe: 'Check the configuration and print the effective settings (secrets masked)',
  builder: (y) =>
    y
      .option('format', { alias: 'f', choices: ['yaml', 'json'] as const, default: 'yaml' as const, describe: 'Output format' })
      .example('TAGSPEND_CONFIG=/etc/tagspend/tagspend.yaml $0 config', 'check a deployment before restarting it') as never,
  handler: (argv) => {
    const { resolved } = commandContext(argv);
    const effective = effectiveConfig(resolved);
    process.stdout.write(argv.format === 'json' ? `${JSON.stringify(effective, null, 2)}\n` : stringify(effective));
  },
};
