import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function tagspend(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, ['bin/tagspend.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
}

test('tagspend proxy with an invalid config lists every problem and exits 2 without starting', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tagspend-cli-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'port: -1\nmax_body_bytes: -5\nspend_log:\n  segment_max_age_seconds: 0\n');
    const r = tagspend(['proxy', '--config', file]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /invalid configuration/);
    assert.match(r.stderr, /port/);
    assert.match(r.stderr, /max_body_bytes/);
    assert.match(r.stderr, /spend_log\.segment_max_age_seconds/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every command answers --help', () => {
  const top = tagspend(['--help']);
  assert.equal(top.status, 0);
  const commands = [...top.stdout.matchAll(/^\s+tagspend ([a-z-]+)/gm)].map((m) => m[1]!);
  assert.ok(commands.includes('proxy') && commands.includes('mock-upstream'), top.stdout);
  for (const c of new Set(commands)) {
    const r = tagspend([c, '--help']);
    assert.equal(r.status, 0, `${c} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`tagspend ${c}`));
  }
});

test('an unknown command is an error with a hint', () => {
  const r = tagspend(['proxxy']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /Unknown|Did you mean/i);
});
