// Registry of CLI commands: one module per command. A command module imports only what its
// options need at the top (yargs types, the config loader, small pure helpers); the modules
// that do the work are imported inside its handler, so each command loads only its own
// dependencies (DuckDB, the AWS SDK, undici ...) and `--help` loads none.
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
import { serveCommand } from './serve.ts';
import { trueupCommand } from './trueup.ts';
import { exportCommand } from './export.ts';

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
  serveCommand,
  trueupCommand,
  exportCommand,
];
