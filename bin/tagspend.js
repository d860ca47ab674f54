#!/usr/bin/env node
// Runs the compiled JavaScript in dist/ (`npm run build`, which `npm ci` runs as `prepare`).
// In a checkout whose TypeScript sources are newer than that build, or that was never built,
// it runs the sources through tsx instead: an edit is never shadowed by a stale dist/, at the
// cost of about a second of start-up.
import { existsSync, readdirSync, statSync } from 'node:fs';

// The AWS SDK warns on every start under Node < 22 that releases after January 2027 will need
// Node 22; the README says so once instead (set the variable to "false" to see it).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const root = new URL('../', import.meta.url);

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${e.name}`;
    newest = Math.max(newest, e.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function distIsCurrent() {
  const stamp = new URL('dist/.built', root);
  if (!existsSync(stamp)) return false;
  const src = new URL('src', root);
  if (!existsSync(src)) return true; // an installed package: dist/ is all there is
  const built = statSync(stamp).mtimeMs;
  return ['src', 'jobs', 'sql'].every((d) => newestSource(new URL(d, root).pathname) <= built);
}

let main;
if (distIsCurrent()) {
  ({ main } = await import('../dist/src/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
await main(process.argv.slice(2));
