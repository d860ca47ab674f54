// A JSON reader for bill files that remembers where each value starts, so a rejected file names
// the line of the bad field, not only its path; and that keeps numbers' exact text, so an
// amount such as 0.8958740000000000 is not rounded through a float before it becomes a DECIMAL.
// Objects are built without a prototype: keys come from files (`__proto__`, `constructor`).

export class JsonSyntaxError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(message);
    this.name = 'JsonSyntaxError';
    this.line = line;
  }
}

export interface LocatedJson {
  readonly value: unknown;
  /** Line (1-based) where the value at `path` starts; `$`, `$.data[0].results[2].amount`. */
  lineOf(path: string): number;
  /** The number at `path` exactly as written. */
  numberText(path: string): string | undefined;
}

const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const MAX_DEPTH = 64;

export function parseLocatedJson(text: string): LocatedJson {
  const lines = new Map<string, number>();
  const numbers = new Map<string, string>();
  let i = 0;
  let line = 1;

  const fail = (message: string): never => {
    throw new JsonSyntaxError(line, message);
  };
  const skipWs = (): void => {
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) line++;
      else if (c !== 32 && c !== 9 && c !== 13) break;
    }
  };
  const describe = (): string => (i >= text.length ? 'end of file' : JSON.stringify(text[i]));
  const expect = (ch: string): void => {
    if (text[i] !== ch) fail(`expected '${ch}', found ${describe()}`);
    i++;
  };
  const readString = (): string => {
    STRING.lastIndex = i;
    const m = STRING.exec(text);
    if (!m) fail('unterminated or invalid string');
    i = STRING.lastIndex;
    return JSON.parse(m![0]) as string;
  };
  const literal = (word: string, value: unknown): unknown => {
    if (!text.startsWith(word, i)) fail(`unexpected ${describe()}`);
    i += word.length;
    return value;
  };

  const parseValue = (path: string, depth: number): unknown => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH} levels`);
    skipWs();
    lines.set(path, line);
    const c = text[i];
    if (c === '{') {
      i++;
      const obj = Object.create(null) as Record<string, unknown>;
      skipWs();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        skipWs();
        if (text[i] !== '"') fail(`expected a property name, found ${describe()}`);
        const key = readString();
        skipWs();
        expect(':');
        obj[key] = parseValue(`${path}.${key}`, depth + 1);
        skipWs();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail(`expected ',' or '}', found ${describe()}`);
      }
    }
    if (c === '[') {
      i++;
      const arr: unknown[] = [];
      skipWs();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(parseValue(`${path}[${arr.length}]`, depth + 1));
        skipWs();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail(`expected ',' or ']', found ${describe()}`);
      }
    }
    if (c === '"') return readString();
    if (c === 't') return literal('true', true);
    if (c === 'f') return literal('false', false);
    if (c === 'n') return literal('null', null);
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) fail(`unexpected ${describe()}`);
    i = NUMBER.lastIndex;
    numbers.set(path, m![0]);
    return Number(m![0]);
  };

  // A UTF-8 byte-order mark is not JSON, but editors write it.
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  const value = parseValue('$', 0);
  skipWs();
  if (i < text.length) fail(`unexpected ${describe()} after the end of the JSON value`);
  return {
    value,
    lineOf(path) {
      // A missing field is reported at its parent object's line.
      for (let p = path; ; p = p.replace(/(\.[^.[]*|\[\d+\])$/, '')) {
        const l = lines.get(p);
        if (l !== undefined) return l;
        if (p === '$' || p === '') return 1;
      }
    },
    numberText: (path) => numbers.get(path),
  };
}
