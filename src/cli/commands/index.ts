// Registry of CLI commands: one module per command.
import type { CommandModule } from 'yargs';
import { proxyCommand } from './proxy.ts';
import { mockUpstreamCommand } from './mock-upstream.ts';
import { shipCommand } from './ship.ts';
import { jobsCommand } from './jobs.ts';
import { queryCommand } from './query.ts';
import { reportCommand } from './report.ts';
import { demoCommand } from './demo.ts';
import { tagsCommand } from './tags.ts';
import { configCommand } from './config.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [
  proxyCommand,
  mockUpstreamCommand,
  shipCommand,
  jobsCommand,
  queryCommand,
  reportCommand,
  demoCommand,
  tagsCommand,
  configCommand,
];
