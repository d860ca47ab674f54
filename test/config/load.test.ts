import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';

function withFile(text: string, fn: (file: string, dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'tagspend-config-'));
  try {
    const file = join(dir, 'tagspend.yaml');
    writeFileSync(file, text);
    fn(file, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('with nothing configured every setting has its default and the proxy listens on 4000', () => {
  const r = loadConfig({ env: {}, cwd: '/srv/app' });
  assert.equal(r.config.port, 4000);
  assert.equal(r.dataDir, '/srv/app/data');
  assert.equal(r.storeUrl, 'file:///srv/app/data/store');
  assert.equal(r.config.spend_log.segment_max_age_seconds, 60);
  assert.equal(r.masterKey, null);
  assert.equal(r.providers.size, 0);
  assert.ok(Object.isFrozen(r.config));
});

test('precedence is defaults < file < TAGSPEND_* env < flags', () => {
  withFile('port: 5000\nlog_level: debug\ntimezone: Europe/Berlin\nspend_log:\n  segment_max_age_seconds: 5\n', (file, dir) => {
    const r = loadConfig({
      file,
      cwd: dir,
      env: { TAGSPEND_PORT: '6000', TAGSPEND_SPEND_LOG__SEGMENT_MAX_AGE_SECONDS: '7', TAGSPEND_LOG_LEVEL: 'warn' },
      overrides: { port: 7000 },
    });
    assert.equal(r.config.port, 7000, 'flag wins');
    assert.equal(r.config.log_level, 'warn', 'env beats file');
    assert.equal(r.config.spend_log.segment_max_age_seconds, 7, 'nested env with a double underscore');
    assert.equal(r.config.timezone, 'Europe/Berlin', 'file beats default');
  });
});

test('TAGSPEND_CONFIG names the file; JSON env values set objects; a numeric-looking key stays a string', () => {
  withFile('keys:\n  - key_env: SUPPORT_KEY\n    alias: support\n    tags: [app:support]\n', (file, dir) => {
    const r = loadConfig({
      cwd: dir,
      env: {
        TAGSPEND_CONFIG: file,
        SUPPORT_KEY: 'sk-support-123456',
        TAGSPEND_MASTER_KEY: '12345678901234',
        TAGSPEND_PROVIDERS: '{"local":{"base_url":"http://127.0.0.1:8000/v1"}}',
      },
    });
    assert.equal(r.keys[0]!.key, 'sk-support-123456');
    assert.deepEqual(r.keys[0]!.tags, ['app:support']);
    assert.equal(r.masterKey, '12345678901234');
    assert.equal(r.providers.get('local')!.baseUrl, 'http://127.0.0.1:8000/v1');
  });
});

test('TAGSPEND_URL (the proxy the tags command calls) is not taken for a config setting', () => {
  assert.equal(loadConfig({ env: { TAGSPEND_URL: 'http://127.0.0.1:4000' } }).config.port, 4000);
});

test('a provider preset is usable as soon as its key variable is set', () => {
  const r = loadConfig({ env: { OPENAI_API_KEY: 'sk-openai' } });
  assert.equal(r.providers.get('openai')!.baseUrl, 'https://api.openai.com/v1');
  assert.equal(r.providers.get('openai')!.apiKey, 'sk-openai');
});

test('every problem is listed at once', () => {
  withFile(
    'port: 99999\nlog_level: loud\nunknown_setting: 1\ntimezone: Mars/Base\nkeys:\n  - alias: a\n  - key: short\n    alias: b\nprivacy:\n  hash_user_ids: true\ndefault_provider: nowhere\n',
    (file, dir) => {
      try {
        loadConfig({ file, cwd: dir, env: {} });
        assert.fail('expected a ConfigError');
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        const text = err.problems.join('\n');
        for (const needle of ['port', 'log_level', 'unknown_setting', 'keys.1.key']) assert.match(text, new RegExp(needle));
      }
      // Schema-valid but inconsistent settings are reported together too.
      withFile('timezone: Mars/Base\nkeys:\n  - alias: a\nprivacy:\n  hash_user_ids: true\ndefault_provider: nowhere\n', (file2) => {
        try {
          loadConfig({ file: file2, env: {} });
          assert.fail('expected a ConfigError');
        } catch (err) {
          assert.ok(err instanceof ConfigError);
          assert.equal(err.problems.length, 4, err.problems.join('\n'));
        }
      });
    },
  );
});

test('schema errors and cross-checks (env variables, time zone) are listed in one go', () => {
  withFile('port: -1\nbogus: true\ntimezone: Mars/Base\nkeys:\n  - key_env: MISSING_KEY_VAR\n    alias: a\n  - key: short\n    alias: b\n', (file) => {
    try {
      loadConfig({ file, env: {} });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const text = err.problems.join('\n');
      assert.match(text, /^port:/m);
      assert.match(text, /bogus/);
      assert.match(text, /^keys\.1\.key:/m);
      assert.match(text, /timezone: unknown time zone "Mars\/Base"/);
      assert.match(text, /keys\.0\.key_env: environment variable MISSING_KEY_VAR is not set/);
      assert.doesNotMatch(text, /keys\.1: one of key or key_env/, 'a setting already reported is not reported twice');
    }
  });
});

test('an unreadable or non-YAML config file is a clear error', () => {
  assert.throws(() => loadConfig({ file: '/nonexistent/tagspend.yaml', env: {} }), /cannot read config file/);
  withFile('port: [1, 2\n', (file) => {
    assert.throws(() => loadConfig({ file, env: {} }), /not valid YAML/);
  });
});

test('key budgets and tag rights are checked: a budget needs its window, manage_tags needs allowed_tags', () => {
  const keys = [
    { key: 'sk-a-0123456789', alias: 'a', max_budget: 5 },
    { key: 'sk-b-0123456789', alias: 'b', manage_tags: true },
    { key: 'sk-c-0123456789', alias: 'c', budget_duration: '1d' },
    { key: 'sk-d-0123456789', alias: 'd', max_budget: -1, budget_duration: 'monthly' },
  ];
  assert.throws(
    () => loadConfig({ env: {}, overrides: { keys } }),
    (err: unknown) => {
      const p = (err as ConfigError).problems;
      return (
        p.includes('keys.0.budget_duration: required with max_budget or soft_budget') &&
        p.includes('keys.1.manage_tags: needs allowed_tags (the tags the key may manage)') &&
        p.includes('keys.2.budget_duration: needs max_budget or soft_budget') &&
        p.some((x) => x.startsWith('keys.3.max_budget:')) &&
        p.some((x) => x.startsWith('keys.3.budget_duration:'))
      );
    },
  );
  const ok = loadConfig({
    env: {},
    overrides: {
      keys: [{ key: 'sk-e-0123456789', alias: 'e', max_budget: 50, budget_duration: '1mo', allowed_tags: ['team:*'], manage_tags: true }],
      budgets: { default_customer_budget: { max_budget: 1, budget_duration: '1d' } },
    },
  });
  assert.deepEqual(ok.keys[0]!.budget, { maxBudget: 50, duration: '1mo', softBudget: null });
  assert.deepEqual([ok.keys[0]!.allowedTags, ok.keys[0]!.manageTags], [['team:*'], true]);
  assert.equal(ok.config.budgets.share_interval_seconds, 2);
  assert.equal(ok.config.budgets.reservation_output_tokens_cap, 16_384);
});
