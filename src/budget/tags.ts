// Tag definitions: one JSON object per tag under control/tags/ in the shared store, so every
// proxy and the budgets job read the same budgets. Input from /tag/* is validated here; every
// problem becomes a 400 that names the field.
import { z } from 'zod';
import { InvalidRequestError, NotFoundError } from '../errors.ts';
import type { ObjectStore } from '../store/types.ts';
import { isValidDuration, isWithinMaxDuration } from './window.ts';

export const TAGS_PREFIX = 'control/tags/';

export interface TagDefinition {
  name: string;
  description: string | null;
  /** USD per window; null = no budget (the tag is only described). */
  max_budget: number | null;
  budget_duration: string | null;
  /** USD at which a soft alert fires (in addition to the thresholds). */
  soft_budget: number | null;
  /** Fractions of max_budget that alert once per window; null = the configured default. */
  alert_thresholds: number[] | null;
  created_at: string;
  updated_at: string;
  /** Key alias (`master` for the master key) that created / last changed the definition. */
  created_by: string | null;
  updated_by: string | null;
  /** Who changed what, oldest first (the last HISTORY_LIMIT changes). */
  history: TagChange[];
}

export interface TagChange {
  at: string;
  by: string | null;
  action: 'created' | 'updated';
  /** The fields set by the change, with their new values. */
  fields: Record<string, unknown>;
}

/** Changes kept in a definition's history. */
export const HISTORY_LIMIT = 50;

// Control characters are refused in tags by the proxy too (src/proxy/attribution.ts).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

const nameSchema = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')
  .refine((s) => !CONTROL.test(s), 'must not contain control characters')
  .refine((s) => s.trim() === s, 'must not start or end with spaces');

/**
 * The largest budget (USD): far above any real budget, and a number the budgets job can bind
 * and store exactly (1e19 overflowed its int64 binding and stopped every reconcile).
 */
export const MAX_BUDGET_USD = 1e12;

const money = z
  .number({ error: 'must be a number' })
  .finite('must be finite')
  .min(0, 'must be >= 0')
  .max(MAX_BUDGET_USD, `must be at most ${MAX_BUDGET_USD} (USD)`);

const fields = {
  description: z.string({ error: 'must be a string' }).max(2000, 'must be at most 2000 characters').nullable().optional(),
  max_budget: money.nullable().optional(),
  budget_duration: z
    .string({ error: 'must be a string' })
    .refine(isValidDuration, 'must look like 30s, 10m, 12h, 1d, 7d, 1w, 1mo')
    .refine(isWithinMaxDuration, 'must be at most 100 years (1200mo, 5217w, 36525d)')
    .nullable()
    .optional(),
  soft_budget: money.nullable().optional(),
  alert_thresholds: z
    .array(z.number({ error: 'must be numbers' }).positive('must be > 0').max(10, 'must be <= 10'), { error: 'must be an array of numbers' })
    .max(20, 'at most 20 thresholds')
    .nullable()
    .optional(),
};

const inputSchema = z.strictObject({ name: nameSchema, ...fields });
export type TagInput = z.output<typeof inputSchema>;

const storedSchema = z.object({
  name: nameSchema,
  description: z.string().nullable().default(null),
  max_budget: z.number().nullable().default(null),
  // A hand-edited object with a bad duration is refused here (and skipped), not at request time.
  budget_duration: z.string().refine(isValidDuration).nullable().default(null),
  soft_budget: z.number().nullable().default(null),
  alert_thresholds: z.array(z.number()).nullable().default(null),
  created_at: z.string(),
  updated_at: z.string(),
  created_by: z.string().nullable().default(null),
  updated_by: z.string().nullable().default(null),
  history: z
    .array(z.object({ at: z.string(), by: z.string().nullable(), action: z.enum(['created', 'updated']), fields: z.record(z.string(), z.unknown()) }))
    .default([]),
});

/** Validates /tag/new and /tag/update bodies; the 400 names the first bad field. */
export function parseTagInput(body: unknown): TagInput {
  const r = inputSchema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.code === 'unrecognized_keys' ? issue.keys[0]! : String(issue.path[0] ?? 'body');
  const message = issue.code === 'unrecognized_keys' ? `unknown field "${field}"` : `${field}: ${issue.message}`;
  throw new InvalidRequestError(`Invalid tag definition: ${message}`, { param: field });
}

/**
 * Why a stored definition cannot be evaluated by the budgets job (a bound the API enforces,
 * broken by a hand edit or an older release); null when it can. Names the field.
 */
export function definitionProblem(def: TagDefinition): { field: string; message: string } | null {
  for (const field of ['max_budget', 'soft_budget'] as const) {
    const v = def[field];
    if (v !== null && !(Number.isFinite(v) && v >= 0 && v <= MAX_BUDGET_USD)) return { field, message: `${field} ${v} is outside 0..${MAX_BUDGET_USD}` };
  }
  if (def.budget_duration !== null && !isWithinMaxDuration(def.budget_duration)) {
    return { field: 'budget_duration', message: `budget_duration ${def.budget_duration} is longer than 100 years` };
  }
  return null;
}

/** A budget, hard or soft, must say its window. */
function checkConsistent(def: TagDefinition): void {
  const problem = definitionProblem(def);
  if (problem) throw new InvalidRequestError(`Invalid tag definition: ${problem.message}`, { param: problem.field });
  if (def.max_budget !== null && def.budget_duration === null) {
    throw new InvalidRequestError('Invalid tag definition: budget_duration is required with max_budget', { param: 'budget_duration' });
  }
  if (def.soft_budget !== null && def.budget_duration === null) {
    throw new InvalidRequestError('Invalid tag definition: budget_duration is required with soft_budget', { param: 'budget_duration' });
  }
}

/** The fields a create or update sets (the name aside), for the history. */
function changedFields(input: TagInput): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) if (k !== 'name' && v !== undefined) out[k] = v;
  return out;
}

export function tagKey(name: string): string {
  return `${TAGS_PREFIX}${encodeURIComponent(name)}.json`;
}

/** The stored JSON; throws on anything that is not a definition (callers log and skip it). */
export function parseStoredTag(text: string): TagDefinition {
  return storedSchema.parse(JSON.parse(text)) as TagDefinition;
}

export function hasBudget(def: TagDefinition): def is TagDefinition & { max_budget: number; budget_duration: string } {
  return def.max_budget !== null && def.budget_duration !== null;
}

/** CRUD on the definitions in the store. */
export class TagRegistry {
  constructor(private readonly store: ObjectStore) {}

  async get(name: string): Promise<TagDefinition | null> {
    const got = await this.store.get(tagKey(name));
    if (!got || !('body' in got)) return null;
    return parseStoredTag(got.body.toString('utf8'));
  }

  /** `actor`: the key alias behind the change (`master`), kept in the definition's history. */
  async create(input: TagInput, nowMs: number, actor: string | null = null): Promise<TagDefinition> {
    if (await this.get(input.name)) throw new InvalidRequestError(`Tag "${input.name}" already exists; use /tag/update`, { param: 'name' });
    const at = new Date(nowMs).toISOString();
    const def: TagDefinition = {
      name: input.name,
      description: input.description ?? null,
      max_budget: input.max_budget ?? null,
      budget_duration: input.budget_duration ?? null,
      soft_budget: input.soft_budget ?? null,
      alert_thresholds: input.alert_thresholds ?? null,
      created_at: at,
      updated_at: at,
      created_by: actor,
      updated_by: actor,
      history: [{ at, by: actor, action: 'created', fields: changedFields(input) }],
    };
    checkConsistent(def);
    await this.write(def);
    return def;
  }

  /** Changes only the fields present in `input`; `null` clears a field. */
  async update(input: TagInput, nowMs: number, actor: string | null = null): Promise<TagDefinition> {
    const old = await this.get(input.name);
    if (!old) throw new NotFoundError(`Tag "${input.name}" does not exist`, { param: 'name' });
    const at = new Date(nowMs).toISOString();
    const change: TagChange = { at, by: actor, action: 'updated', fields: changedFields(input) };
    const def: TagDefinition = { ...old, updated_at: at, updated_by: actor, history: [...old.history, change].slice(-HISTORY_LIMIT) };
    if (input.description !== undefined) def.description = input.description;
    if (input.max_budget !== undefined) def.max_budget = input.max_budget;
    if (input.budget_duration !== undefined) def.budget_duration = input.budget_duration;
    if (input.soft_budget !== undefined) def.soft_budget = input.soft_budget;
    if (input.alert_thresholds !== undefined) def.alert_thresholds = input.alert_thresholds;
    checkConsistent(def);
    await this.write(def);
    return def;
  }

  async delete(name: string): Promise<void> {
    if (!(await this.get(name))) throw new NotFoundError(`Tag "${name}" does not exist`, { param: 'name' });
    await this.store.delete(tagKey(name));
  }

  /** Every definition; unreadable objects are passed to `onBad` and skipped. */
  async list(onBad: (key: string, err: unknown) => void = () => {}): Promise<TagDefinition[]> {
    const out: TagDefinition[] = [];
    for await (const info of this.store.list(TAGS_PREFIX)) {
      const got = await this.store.get(info.key);
      if (!got || !('body' in got)) continue;
      try {
        out.push(parseStoredTag(got.body.toString('utf8')));
      } catch (err) {
        onBad(info.key, err);
      }
    }
    return out;
  }

  private async write(def: TagDefinition): Promise<void> {
    await this.store.put(tagKey(def.name), `${JSON.stringify(def, null, 2)}\n`, { contentType: 'application/json' });
  }
}

/** Parses a list of names from `?names=a,b` or `{"names":[...]}`. */
export function parseNames(value: unknown): string[] {
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((n) => typeof n === 'string' && n.length > 0)) {
    throw new InvalidRequestError('names must be a non-empty list of tag names', { param: 'names' });
  }
  return [...new Set(list as string[])];
}
