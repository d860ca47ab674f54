#!/usr/bin/env node
// `npm run build`: type-checks everything (tsconfig.json: src, jobs, test, bench), emits the
// JavaScript of src/ and jobs/ into dist/ (tsconfig.build.json), copies what the code reads at
// run time beside it (sql/, JSON assets under src/), and stamps the build. bin/tagspend.js runs
// dist/ when the stamp is newer than every source file.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const tsc = join(root, 'node_modules', '.bin', 'tsc');

function run(args) {
  execFileSync(tsc, args, { cwd: root, stdio: 'inherit' });
}

function assets(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return assets(path);
    return e.name.endsWith('.ts') ? [] : [path];
  });
}

try {
  run(['-p', 'tsconfig.json']);
  rmSync(dist, { recursive: true, force: true });
  run(['-p', 'tsconfig.build.json']);
} catch {
  process.exit(1);
}
cpSync(join(root, 'sql'), join(dist, 'sql'), { recursive: true });
for (const file of [...assets(join(root, 'src')), ...assets(join(root, 'jobs'))]) {
  const target = join(dist, relative(root, file));
  mkdirSync(dirname(target), { recursive: true });
  cpSync(file, target);
}
writeFileSync(join(dist, '.built'), `${new Date().toISOString()}\n`);
console.log(`built ${relative(process.cwd(), dist) || dist} in ${Math.round(process.uptime() * 1000)} ms`);
