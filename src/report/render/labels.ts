// What people read instead of column names: human column labels, a title that names the
// dimension, and the words shown for rows that have no value (the sentinels).
import type { Dimension } from '../dimensions.ts';

const COLUMN_LABELS: Readonly<Record<string, string>> = {
  tag: 'Tag',
  user: 'End user',
  model: 'Model',
  provider: 'Provider',
  key: 'API key',
  requests: 'Requests',
  errors: 'Errors',
  unpriced: 'Unpriced',
  prompt_tokens: 'Prompt tokens',
  completion_tokens: 'Completion tokens',
  total_tokens: 'Total tokens',
  cached_tokens: 'Cached tokens',
  reasoning_tokens: 'Reasoning tokens',
  spend_usd: 'Spend',
  spend_share: 'Share',
  previous_spend_usd: 'Previous period',
  billed_usd: 'Billed',
  billed_share: 'Share of bill',
  previous_billed_usd: 'Previous period (billed)',
};

/** `prompt_tokens` -> `Prompt tokens`; a tag key or metadata field column keeps its own name, capitalised. */
export function columnLabel(column: string): string {
  const known = Object.hasOwn(COLUMN_LABELS, column) ? COLUMN_LABELS[column] : undefined;
  if (known) return known;
  const spaced = column.replace(/_/g, ' ');
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

/** The dimension in words: `team`, `project (metadata)`, `end user`, `API key`. */
export function dimensionName(d: Dimension): string {
  switch (d.kind) {
    case 'tag':
      return 'tag';
    case 'tag_key':
      return d.key;
    case 'meta':
      return `${d.key} (metadata)`;
    case 'user':
      return 'end user';
    case 'model':
      return 'model';
    case 'key':
      return 'API key';
  }
}

export function reportTitle(d: Dimension, from: string, to: string, timezone: string, scope?: string, billed = false): string {
  const period = from === to ? from : `${from} to ${to}`;
  return `${billed ? 'Billed spend' : 'Spend'} by ${dimensionName(d)}${scope ? ` in ${scope}` : ''}, ${period} (${timezone})`;
}

/** The row of a billed report that holds the bills' cost no request accounts for (docs/trueup.md). */
export const UNATTRIBUTED = '(unattributed)';

/**
 * What a row without a value is called. Reports carry such a label as null (JSON null): a real
 * tag, user or metadata value can be any text, including `(untagged)`, so only the renderers
 * write these words, marked so that no real value can look the same.
 */
export function sentinelText(d: Dimension): string {
  switch (d.kind) {
    case 'tag':
    case 'tag_key':
      return '(untagged)';
    case 'meta':
      return '(none)';
    case 'user':
      return '(no user)';
    case 'model':
      return '(unknown)';
    case 'key':
      return '(no key)';
  }
}

/** Every sentinel text, for renderers that must keep real values distinguishable from them. */
export const SENTINEL_TEXTS: ReadonlySet<string> = new Set(['(untagged)', '(none)', '(no user)', '(unknown)', '(no key)', UNATTRIBUTED]);
