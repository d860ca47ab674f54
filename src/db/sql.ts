// The one way SQL text reaches DuckDB: statements live in `sql/<owner>/<verb_noun>.sql` (the
// module that runs them; schema changes in `sql/migrations/`) and are loaded by name. Values are always bound as parameters ($name). The only text ever spliced into a
// statement is a `{{placeholder}}` filled with a `Quoted` fragment, and the quoting functions
// below are the only way to make one, so an unquoted identifier or path cannot slip in.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));
const NAME = /^[a-z]+\/[a-z0-9][a-z0-9_]*$/;

/** Where the SQL files are (tests check that every name the code uses exists). */
export const SQL_ROOT = SQL_DIR;
const PLACEHOLDER = /\{\{([a-z_]+)\}\}/g;

declare const quoted: unique symbol;
/** SQL text produced by one of the quoting functions in this module. */
export type Quoted = string & { readonly [quoted]: true };

const cache = new Map<string, string>();

function rejectNul(value: string): void {
  if (value.includes('\0')) throw new Error('NUL byte in a SQL identifier or literal');
}

/** A double-quoted identifier: `my "table"` becomes `"my ""table"""`. */
export function quoteIdent(name: string): Quoted {
  rejectNul(name);
  return `"${name.replaceAll('"', '""')}"` as Quoted;
}

/** A single-quoted string literal, for file paths and constants in table-function arguments. */
export function quoteLiteral(value: string): Quoted {
  rejectNul(value);
  return `'${value.replaceAll("'", "''")}'` as Quoted;
}

/** A list literal of strings: `['a', 'b']`. */
export function quoteLiteralList(values: readonly string[]): Quoted {
  return `[${values.map(quoteLiteral).join(', ')}]` as Quoted;
}

/** A map literal of strings: `MAP {'a': 'b'}` (at least one entry). */
export function quoteLiteralMap(entries: readonly (readonly [string, string])[]): Quoted {
  if (entries.length === 0) throw new Error('an empty map literal has no type');
  return `MAP {${entries.map(([k, v]) => `${quoteLiteral(k)}: ${quoteLiteral(v)}`).join(', ')}}` as Quoted;
}

/** The text of `sql/<owner>/<name>.sql` with its placeholders filled. */
export function sql(name: string, fragments: Readonly<Record<string, Quoted>> = {}): string {
  if (!NAME.test(name)) throw new Error(`bad SQL file name ${JSON.stringify(name)}`);
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(`${SQL_DIR}${name}.sql`, 'utf8');
    cache.set(name, text);
  }
  return text.replace(PLACEHOLDER, (_, key: string) => {
    const value = fragments[key];
    if (value === undefined) throw new Error(`sql/${name}.sql: no value for {{${key}}}`);
    return value;
  });
}
