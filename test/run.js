#!/usr/bin/env node
// The whole suite: every test/**/*.test.ts file under Node's own runner, so its summary
// lines are the last thing printed. Pass file paths to run a subset.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...collect(path));
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

// A directory argument runs every test file under it.
const args = process.argv.length > 2 ? process.argv.slice(2) : [join(root, 'test')];
const files = args.flatMap((a) => (statSync(a).isDirectory() ? collect(a) : [a]));
if (files.length === 0) {
  console.error(`no test files under ${args.join(' ')}`);
  process.exit(1);
}
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, TAGSPEND_LOG_LEVEL: process.env.TAGSPEND_LOG_LEVEL ?? 'silent' } },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
