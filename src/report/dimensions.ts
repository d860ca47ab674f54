// The dimensions a report can be broken down by, as written on the command line (`--by`).

export type Dimension =
  | { kind: 'tag' }
  | { kind: 'tag_key'; key: string }
  | { kind: 'user' }
  | { kind: 'meta'; key: string }
  | { kind: 'model' }
  | { kind: 'key' };

export const DIMENSION_HELP = 'tag, tag:<key> (e.g. tag:team), user (or customer), meta:<field> (e.g. meta:project), model or key';

export function parseDimension(text: string): Dimension {
  const s = text.trim();
  if (s === 'tag' || s === 'tags') return { kind: 'tag' };
  // A customer (LiteLLM's word, and the budgets') is the end user.
  if (s === 'user' || s === 'users' || s === 'customer' || s === 'customers') return { kind: 'user' };
  if (s === 'model' || s === 'models') return { kind: 'model' };
  if (s === 'key' || s === 'keys' || s === 'key_alias') return { kind: 'key' };
  const m = /^(tag|meta|metadata):(.+)$/.exec(s);
  if (m) {
    const key = m[2]!;
    return m[1] === 'tag' ? { kind: 'tag_key', key } : { kind: 'meta', key };
  }
  throw new Error(`unknown report dimension ${JSON.stringify(text)}; use ${DIMENSION_HELP}`);
}

/** A name for files and headings: `tag-team`, `meta-project`, `model`. */
export function dimensionLabel(d: Dimension): string {
  switch (d.kind) {
    case 'tag_key':
      return `tag-${d.key}`;
    case 'meta':
      return `meta-${d.key}`;
    default:
      return d.kind;
  }
}
