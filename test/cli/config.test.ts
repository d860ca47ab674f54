import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

// docs/examples/ holds the production example the operations guide points to: it must stay a
// valid configuration, and `tagspend config` must never print one of its secrets.
const EXAMPLE = 'docs/examples/tagspend.yaml';

function exampleEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync('docs/examples/tagspend.env', 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

function tagspendConfig(extra: Record<string, string>, args: string[] = ['--format', 'json']) {
  // Only the example's variables: no TAGSPEND_* or provider keys leak in from the test's own env.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TAGSPEND_') && !k.endsWith('_API_KEY')));
  return spawnSync(process.execPath, ['bin/tagspend.js', 'config', ...args], {
    encoding: 'utf8',
    env: { ...base, ...exampleEnv(), TAGSPEND_CONFIG: EXAMPLE, ...extra },
    timeout: 60_000,
  });
}

test('the example production config is valid and its effective settings carry no secret', () => {
  const r = tagspendConfig({});
  assert.equal(r.status, 0, r.stderr);
  const c = JSON.parse(r.stdout);
  assert.equal(c.store.url, 's3://acme-tagspend/prod');
  assert.equal(c.timezone, 'Europe/Berlin');
  assert.deepEqual(c.keys.map((k: { alias: string }) => k.alias), ['support-bot', 'search']);
  assert.deepEqual(c.keys[0].required_tag_prefixes, ['env:']);
  assert.equal(c.master_key, '[set]');
  assert.equal(c.providers.openai.api_key, '[set]');
  assert.equal(c.privacy.user_id_salt, '[set]');
  assert.deepEqual(c.jobs.daily_report.formats, ['md', 'csv', 'html']);
  for (const [name, value] of Object.entries(exampleEnv())) {
    if (name === 'TAGSPEND_CONFIG') continue;
    assert.ok(!r.stdout.includes(value), `${name}'s value is printed`);
  }
});

test('environment variables override the file, and a misspelt one is an error, not ignored', () => {
  const ok = tagspendConfig({ TAGSPEND_PORT: '5001', TAGSPEND_JOBS__MEMORY_LIMIT: '3GB' }, []);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^port: 5001$/m);
  assert.match(ok.stdout, /^ {2}memory_limit: 3GB$/m);

  const bad = tagspendConfig({ TAGSPEND_PORTT: '5001', TAGSPEND_SPEND_LOG__SEGMENT_MAX_AGE_SECONDS: '0' });
  assert.equal(bad.status, 2);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /invalid configuration/);
  assert.match(bad.stderr, /portt/i);
  assert.match(bad.stderr, /spend_log\.segment_max_age_seconds/);
});
