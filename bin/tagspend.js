#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader: no build step between
// a checkout and a running proxy, and stack traces point at the .ts files.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on every start under Node < 22 that releases after January 2027 will need
// Node 22; the README says so once instead (set the variable to "false" to see it).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv.slice(2));
