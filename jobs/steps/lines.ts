// The slow path's first step: an object read line by line, so every line keeps its number.
// Lines that are not JSON objects are rejected here with the parser's reason; the rest are
// candidates that DuckDB then types exactly as the fast path does (jobs/load.ts).
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';

export interface Line {
  /** 1-based line number in the (decompressed) object. */
  line: number;
  raw: string;
}

export interface RejectedLine extends Line {
  reason: string;
}

export interface SplitLines {
  candidates: Line[];
  rejects: RejectedLine[];
}

/** Whether a line is a JSON object; blank lines are not records and are skipped. */
export function classifyLines(lines: Iterable<Line>): SplitLines {
  const candidates: Line[] = [];
  const rejects: RejectedLine[] = [];
  for (const l of lines) {
    if (l.raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(l.raw);
    } catch (err) {
      rejects.push({ ...l, reason: `not valid JSON: ${(err as Error).message}` });
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
      rejects.push({ ...l, reason: `not a JSON object (${kind})` });
      continue;
    }
    candidates.push(l);
  }
  return { candidates, rejects };
}

/** Splits text chunks on '\n' (one trailing '\r' is dropped, as DuckDB does). */
export class LineSplitter {
  #rest = '';
  #next = 1;
  readonly #decoder = new StringDecoder('utf8');

  push(chunk: Buffer): Line[] {
    const text = this.#rest + this.#decoder.write(chunk);
    const parts = text.split('\n');
    this.#rest = parts.pop() ?? '';
    return parts.map((raw) => this.#line(raw));
  }

  /** The last line when the object does not end with a newline (a torn write, usually). */
  end(): Line | null {
    const raw = this.#rest + this.#decoder.end();
    this.#rest = '';
    return raw === '' ? null : this.#line(raw);
  }

  #line(raw: string): Line {
    return { line: this.#next++, raw: raw.endsWith('\r') ? raw.slice(0, -1) : raw };
  }
}

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * Reads a downloaded gzip NDJSON object. A stream that breaks off (truncated gzip, not gzip at
 * all) rejects what could not be read as one line with the decompressor's reason.
 */
export async function readObjectLines(path: string): Promise<SplitLines> {
  const splitter = new LineSplitter();
  const lines: Line[] = [];
  let failure: Error | null = null;
  let first = true;
  const source = createReadStream(path);
  const gunzip = createGunzip();
  try {
    await new Promise<void>((resolve, reject) => {
      source.on('error', reject);
      source.once('data', (chunk: Buffer | string) => {
        const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        if (b.length >= 2 && (b[0] !== GZIP_MAGIC[0] || b[1] !== GZIP_MAGIC[1])) {
          failure = new Error('not a gzip stream');
        }
      });
      gunzip.on('data', (chunk: Buffer) => {
        first = false;
        for (const l of splitter.push(chunk)) lines.push(l);
      });
      gunzip.on('error', (err) => {
        failure ??= err;
        resolve();
      });
      gunzip.on('end', resolve);
      source.pipe(gunzip);
    });
  } finally {
    source.destroy();
    gunzip.destroy();
  }
  const last = splitter.end();
  const split = classifyLines(last === null ? lines : [...lines, last]);
  if (failure !== null) {
    // Whatever the decompressor could not deliver is lost to us; say so, on the next line number.
    const line = (last?.line ?? lines.at(-1)?.line ?? 0) + 1;
    const note = first ? 'the object could not be decompressed' : 'the object breaks off here';
    split.rejects.push({ line, raw: '', reason: `${note}: ${(failure as Error).message}` });
  }
  return split;
}
