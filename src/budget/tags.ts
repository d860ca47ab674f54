// Tag definitions: one JSON object per tag under control/tags/ in the shared store, so every
// proxy and the budgets job read the same budgets. Input from /tag/* is validated here; every
// problem becomes a 400 that names the field. Writes are conditional (the store's If-Match /
// If-None-Match): a create never replaces a definition, and an update re-reads and retries when
// another writer changed the definition meanwhile, so no field is lost.
import { z } from 'zod';
import { ConflictError, InvalidRequestError, NotFoundError, StoreKeyError, StorePreconditionFailedError } from '../errors.ts';
import type { ObjectStore } from '../store/types.ts';
import { budgetDuration, MAX_BUDGET_USD, money } from './budget-fields.ts';
import type { DefinitionFolder, DefinitionSource } from './definition-source.ts';

export { MAX_BUDGET_USD } from './budget-fields.ts';
import { legacyTagKey, tagKey, TAGS_PREFIX } from './tag-keys.ts';
import { isValidDuration, isWithinMaxDuration } from './window.ts';

export { tagKey, TAGS_PREFIX };

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

// Control characters (C0, DEL, C1) are refused in request tags by the proxy
// (src/proxy/attribution.ts), and so in new names; stored names written by earlier releases
// (which refused C0 and DEL only) stay readable.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex
const STORED_CONTROL = /[\u0000-\u001f\u007f]/;

const storedNameSchema = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')
  .refine((s) => s.isWellFormed(), 'must not contain lone surrogates (invalid UTF-16)')
  .refine((s) => !STORED_CONTROL.test(s), 'must not contain control characters')
  .refine((s) => s.trim() === s, 'must not start or end with spaces');
const nameSchema = storedNameSchema.refine((s) => !CONTROL.test(s), 'must not contain control characters');


const fields = {
  description: z.string({ error: 'must be a string' }).max(2000, 'must be at most 2000 characters').nullable().optional(),
  max_budget: money.nullable().optional(),
  budget_duration: budgetDuration.nullable().optional(),
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
  name: storedNameSchema,
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

/** A definition with a budget must say its window; a soft budget needs a budget to compare to. */
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

/** The stored JSON; throws on anything that is not a definition (callers log and skip it). */
export function parseStoredTag(text: string): TagDefinition {
  return storedSchema.parse(JSON.parse(text)) as TagDefinition;
}

/** control/tags/ as the proxies poll it (src/budget/definition-source.ts): definitions by name. */
export const TAG_FOLDER: DefinitionFolder<TagDefinition> = {
  prefix: TAGS_PREFIX,
  parse: parseStoredTag,
  idOf: (d) => d.name,
  keyOf: tagKey,
  what: 'tag',
};

/** The proxy's view of the tag definitions: one LIST per poll, a GET only for changed objects. */
export type TagSource = DefinitionSource<TagDefinition>;

export function hasBudget(def: TagDefinition): def is TagDefinition & { max_budget: number; budget_duration: string } {
  return def.max_budget !== null && def.budget_duration !== null;
}

/** A stored definition with where it was read: its key (current or legacy) and ETag. */
interface Held {
  def: TagDefinition;
  key: string;
  etag: string;
}

/** An update re-reads and retries this often when other writers keep changing the definition. */
const MAX_UPDATE_ATTEMPTS = 10;

function serialize(def: TagDefinition): string {
  return `${JSON.stringify(def, null, 2)}\n`;
}

/** CRUD on the definitions in the store. */
export class TagRegistry {
  constructor(private readonly store: ObjectStore) {}

  async get(name: string): Promise<TagDefinition | null> {
    return (await this.read(name))?.def ?? null;
  }

  /**
   * 409 when the tag exists (also when another writer creates it at the same moment). `actor`:
   * the key alias behind the change (`master`), kept in the definition's history.
   */
  async create(input: TagInput, nowMs: number, actor: string | null = null): Promise<TagDefinition> {
    const exists = () => new ConflictError(`Tag "${input.name}" already exists; use /tag/update`, { param: 'name' });
    if (await this.read(input.name)) throw exists();
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
    try {
      await this.store.put(tagKey(def.name), serialize(def), { contentType: 'application/json', ifNoneMatch: '*' });
    } catch (err) {
      if (err instanceof StorePreconditionFailedError) throw exists();
      throw err;
    }
    return def;
  }

  /**
   * Changes only the fields present in `input`; `null` clears a field. The write is conditional
   * on the definition read: when another writer changed it meanwhile, the update is re-applied
   * to the new version. A definition found at its legacy key is moved to the current one.
   */
  async update(input: TagInput, nowMs: number, actor: string | null = null): Promise<TagDefinition> {
    for (let attempt = 1; ; attempt++) {
      const held = await this.read(input.name);
      if (!held) throw new NotFoundError(`Tag "${input.name}" does not exist`, { param: 'name' });
      const at = new Date(nowMs).toISOString();
      const change: TagChange = { at, by: actor, action: 'updated', fields: changedFields(input) };
      const def: TagDefinition = { ...held.def, updated_at: at, updated_by: actor, history: [...held.def.history, change].slice(-HISTORY_LIMIT) };
      if (input.description !== undefined) def.description = input.description;
      if (input.max_budget !== undefined) def.max_budget = input.max_budget;
      if (input.budget_duration !== undefined) def.budget_duration = input.budget_duration;
      if (input.soft_budget !== undefined) def.soft_budget = input.soft_budget;
      if (input.alert_thresholds !== undefined) def.alert_thresholds = input.alert_thresholds;
      checkConsistent(def);
      const key = tagKey(def.name);
      try {
        await this.store.put(key, serialize(def), { contentType: 'application/json', ...(held.key === key ? { ifMatch: held.etag } : { ifNoneMatch: '*' }) });
      } catch (err) {
        if (!(err instanceof StorePreconditionFailedError)) throw err;
        if (attempt >= MAX_UPDATE_ATTEMPTS) {
          throw new ConflictError(`Tag "${input.name}" is being changed by other writers; try again`, { param: 'name' });
        }
        continue;
      }
      if (held.key !== key) await this.store.delete(held.key);
      return def;
    }
  }

  async delete(name: string): Promise<void> {
    if (!(await this.read(name))) throw new NotFoundError(`Tag "${name}" does not exist`, { param: 'name' });
    await this.store.delete(tagKey(name));
    const legacy = legacyTagKey(name);
    if (legacy !== tagKey(name)) await this.deleteLegacy(legacy);
  }

  /** Every definition; unreadable objects are passed to `onBad` and skipped. */
  async list(onBad: (key: string, err: unknown) => void = () => {}): Promise<TagDefinition[]> {
    return (await this.entries(onBad)).map((e) => e.def);
  }

  /**
   * Every definition with the key it was read from. A name stored twice (its legacy key left
   * beside the current one by an interrupted move) counts once, from the current key.
   */
  async entries(onBad: (key: string, err: unknown) => void = () => {}): Promise<{ def: TagDefinition; key: string }[]> {
    const byName = new Map<string, { def: TagDefinition; key: string }>();
    for await (const info of this.store.list(TAGS_PREFIX)) {
      const got = await this.store.get(info.key);
      if (!got || !('body' in got)) continue;
      let def: TagDefinition;
      try {
        def = parseStoredTag(got.body.toString('utf8'));
      } catch (err) {
        onBad(info.key, err);
        continue;
      }
      if (!byName.has(def.name) || info.key === tagKey(def.name)) byName.set(def.name, { def, key: info.key });
    }
    return [...byName.values()];
  }

  /** The definition of `name` at its key, else at the key earlier releases used for it. */
  private async read(name: string): Promise<Held | null> {
    const key = tagKey(name);
    const held = await this.readAt(key, name);
    if (held) return held;
    const legacy = legacyTagKey(name);
    return legacy === key ? null : this.readAt(legacy, name);
  }

  private async readAt(key: string, name: string): Promise<Held | null> {
    let got;
    try {
      got = await this.store.get(key);
    } catch (err) {
      if (err instanceof StoreKeyError) return null; // a legacy key this store cannot even name
      throw err;
    }
    if (!got || !('body' in got)) return null;
    const def = parseStoredTag(got.body.toString('utf8'));
    return def.name === name ? { def, key, etag: got.etag } : null;
  }

  private async deleteLegacy(key: string): Promise<void> {
    try {
      await this.store.delete(key);
    } catch (err) {
      if (!(err instanceof StoreKeyError)) throw err;
    }
  }
}

/** Parses a list of names from `?names=a,b` or `{"names":[...]}`. */
export function parseNames(value: unknown, param = 'names'): string[] {
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((n) => typeof n === 'string' && n.length > 0)) {
    throw new InvalidRequestError('names must be a non-empty list of tag names', { param });
  }
  for (const n of list as string[]) {
    const r = storedNameSchema.safeParse(n);
    if (!r.success) throw new InvalidRequestError(`Invalid tag name ${JSON.stringify(n.slice(0, 60))}: ${r.error.issues[0]!.message}`, { param });
  }
  return [...new Set(list as string[])];
}
