// `npm run bench:cli`: start-up time of the CLI as a user runs it (compiled dist/, a fresh
// process each time): `tagspend query`, `tagspend report` and `tagspend --help` against a small
// snapshot made by the demo, plus an empty `node -e ''` as the floor of any Node command.
// BENCH_ROUNDS (default 15) rounds, the commands alternated within each round; prints the median
// and range of wall time per command. Target: query and report under 0.5 s.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'tagspend.js');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

if (!existsSync(join(ROOT, 'dist', '.built'))) {
  console.error('no dist/: run `npm run build` first (the benchmark measures the compiled CLI)');
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'tagspend-bench-cli-'));
try {
  const demo = spawnSync(process.execPath, [BIN, 'demo', '--requests', '300', '--data-dir', dir], { encoding: 'utf8' });
  if (demo.status !== 0) throw new Error(`demo failed: ${demo.stderr}`);

  const commands: Record<string, string[]> = {
    'node -e ""': ['-e', ''],
    'tagspend --help': [BIN, '--help'],
    'tagspend query': [BIN, 'query', 'SELECT count(*) FROM spend_logs', '--data-dir', dir],
    'tagspend report': [BIN, 'report', '--by', 'tag:team', '--from', '2020-01-01', '--data-dir', dir],
  };
  const times = new Map<string, number[]>(Object.keys(commands).map((k) => [k, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const names = Object.keys(commands);
    if (round % 2 === 1) names.reverse();
    for (const name of names) {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, commands[name]!, { encoding: 'utf8' });
      const ms = performance.now() - t0;
      if (r.status !== 0) throw new Error(`${name} failed: ${r.stderr}`);
      times.get(name)!.push(ms);
    }
  }
  console.log(`${ROUNDS} rounds, commands alternated; wall time of a fresh process`);
  for (const [name, list] of times) {
    const sorted = [...list].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    console.log(`${name.padEnd(18)} median ${(median / 1000).toFixed(3)} s  range ${(sorted[0]! / 1000).toFixed(3)}–${(sorted.at(-1)! / 1000).toFixed(3)} s`);
  }
  console.log('target: tagspend query and tagspend report under 0.5 s');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
