import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeRecords, putRecordObjects } from '../helpers/spend-fixtures.ts';
import { createHarness, type Harness } from './harness.ts';

const BIN = fileURLToPath(new URL('../../bin/tagspend.js', import.meta.url));

function tagspend(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TAGSPEND_LOG_LEVEL: 'silent', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = once(child, 'exit').then(([code]) => ({ code: code as number | null, stdout, stderr }));
  return { child, done };
}

async function waitFor(check: () => Promise<boolean>, deadlineMs: number, what: string): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}

describe('jobs, query and report commands', () => {
  let h: Harness;
  let common: string[];
  before(async () => {
    h = await createHarness();
    common = ['--data-dir', h.dir];
    await putRecordObjects(h.store, makeRecords(400, 81, Date.now() - 7_200_000, 10_000), 200);
  });
  after(async () => h?.cleanup());

  test('jobs schedule runs reconcile on its schedule and stops cleanly on SIGTERM', async () => {
    const { child, done } = tagspend(['jobs', 'schedule', ...common, '--store', h.store.url], {
      TAGSPEND_JOBS__SCHEDULES__RECONCILE: '* * * * * *',
    });
    try {
      await waitFor(() => stat(h.settings.snapshotFile).then(() => true, () => false), 20_000, 'the first scheduled run');
    } finally {
      child.kill('SIGTERM');
    }
    const { code, stderr } = await done;
    assert.equal(code, 0, stderr);
  });

  test('query prints the rows of read-only SQL as CSV or JSON, from the snapshot', async () => {
    const csv = await tagspend(['query', 'SELECT "trigger", status, "rows" FROM job_runs WHERE "rows" > 0', '--format', 'csv', ...common]).done;
    assert.equal(csv.code, 0, csv.stderr);
    assert.equal(csv.stdout, 'trigger,status,rows\r\nschedule,success,400\r\n');
    const json = await tagspend(['query', 'SELECT sum(requests) AS r, count(*) > 0 AS any_day FROM rollup_daily', '-f', 'json', ...common]).done;
    assert.deepEqual(JSON.parse(json.stdout), [{ r: '400', any_day: true }]);
    const write = await tagspend(['query', 'DELETE FROM spend_logs', ...common]).done;
    assert.equal(write.code, 1);
    assert.match(write.stderr, /^tagspend: .*read-only/);
  });

  test('query runs in a sandbox: no file read or written, no extension installed, settings locked', async () => {
    const secret = join(h.dir, 'secrets.yaml');
    await writeFile(secret, 'master_key: sk-admin-never-printed\n');
    const out = join(h.dir, 'exported.csv');
    const attempts = [
      `SELECT * FROM read_text('${secret}')`,
      `SELECT * FROM read_csv('${secret}')`,
      `SELECT * FROM glob('${h.dir}/*')`,
      `COPY (SELECT 1 AS x) TO '${out}'`,
      `EXPORT DATABASE '${join(h.dir, 'export')}'`,
      `ATTACH '${join(h.dir, 'other.duckdb')}' AS other`,
      'INSTALL httpfs',
      'SET enable_external_access = true',
    ];
    for (const sql of attempts) {
      const r = await tagspend(['query', sql, ...common]).done;
      assert.equal(r.code, 1, `${sql}: ${r.stdout}`);
      assert.match(r.stderr, /^tagspend: .*(disabled by configuration|configuration has been locked)/, sql);
      assert.doesNotMatch(r.stdout + r.stderr, /sk-admin-never-printed/);
    }
    await assert.rejects(stat(out), { code: 'ENOENT' });
    await assert.rejects(stat(join(h.dir, 'export')), { code: 'ENOENT' });
    // Ordinary SQL still works in the sandbox.
    const ok = await tagspend(['query', 'SELECT count(*) AS n FROM spend_logs', '-f', 'csv', ...common]).done;
    assert.equal(ok.stdout, 'n\r\n400\r\n', ok.stderr);
  });

  test('query --allow-files lets an operator COPY a result to a file', async () => {
    const out = join(h.dir, 'allowed.csv');
    const r = await tagspend(['query', `COPY (SELECT count(*) AS n FROM spend_logs) TO '${out}' (HEADER)`, '--allow-files', ...common]).done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readFile(out, 'utf8'), 'n\n400\n');
  });

  test('report --by tag:team prints a CSV whose rows add up to the total', async () => {
    const { code, stdout, stderr } = await tagspend(['report', '--by', 'tag:team', '--from', '2000-01-01', '--to', '2100-01-01', '--format', 'csv', ...common]).done;
    assert.equal(code, 0, stderr);
    const lines = stdout.trimEnd().split('\r\n');
    assert.equal(lines[0], 'team,requests,errors,prompt_tokens,completion_tokens,total_tokens,spend_usd,spend_share,previous_spend_usd');
    const requests = lines.slice(1).reduce((s, l) => s + Number(l.split(',')[1]), 0);
    assert.equal(Math.round(requests * 1e6), 400e6);
  });
});
