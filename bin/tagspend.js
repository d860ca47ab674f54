#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader: no build step between
// a checkout and a running proxy, and stack traces point at the .ts files.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv.slice(2));
