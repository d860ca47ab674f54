import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { MIGRATIONS } from '../../src/db/migrate.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function files(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : files(path, ext);
    return name.endsWith(ext) ? [path] : [];
  });
}

const code = ['src', 'jobs'].flatMap((d) => files(join(ROOT, d), '.ts')).map((f) => ({ file: relative(ROOT, f), text: readFileSync(f, 'utf8') }));
const sqlNames = files(join(ROOT, 'sql'), '.sql').map((f) => relative(join(ROOT, 'sql'), f).slice(0, -'.sql'.length));

test('every SQL name the code loads exists under sql/', () => {
  const missing: string[] = [];
  let calls = 0;
  for (const { file, text } of code) {
    for (const m of text.matchAll(/\bsql\(\s*'([^']+)'/g)) {
      calls++;
      if (!sqlNames.includes(m[1]!)) missing.push(`${file}: sql('${m[1]}')`);
    }
  }
  assert.ok(calls > 50, `found only ${calls} sql() calls: the pattern no longer matches the loader's use`);
  assert.deepEqual(missing, []);
});

test('every file under sql/ is used: a runtime query by name, a migration by the migration runner', () => {
  const migrations = new Set(MIGRATIONS.map((m) => m.name));
  const unused = sqlNames.filter((name) => {
    if (name.startsWith('migrations/')) return !migrations.has(name);
    return !code.some(({ text }) => text.includes(`'${name}'`));
  });
  assert.deepEqual(unused, []);
});

test('runtime queries are grouped by owner and never create tables that migrations own', () => {
  for (const name of sqlNames) {
    assert.match(name, /^[a-z]+\/[a-z0-9_]+$/, `sql/${name}.sql: expected sql/<owner>/<name>.sql`);
    // The migration runner's own bookkeeping table exists before any migration runs.
    if (name.startsWith('migrations/') || name === 'db/create_migrations_table') continue;
    const text = readFileSync(join(ROOT, 'sql', `${name}.sql`), 'utf8');
    for (const m of text.matchAll(/CREATE\s+(?:OR\s+REPLACE\s+)?(TEMP\s+|TEMPORARY\s+)?(TABLE|VIEW|SEQUENCE)\b/gi)) {
      assert.ok(m[1], `sql/${name}.sql: a persistent ${m[2]} belongs in a migration (runtime SQL may only create TEMP objects)`);
    }
  }
});
