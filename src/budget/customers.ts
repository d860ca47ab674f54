// Customer (end user) definitions: LiteLLM's /customer/* objects, one JSON object per customer
// under control/customers/ in the shared store, keyed by the id as spend records store it (the
// HMAC with privacy.hash_user_ids), so the budgets job matches them to spend without the salt.
// The object's file name is a digest of that id: ids are client-chosen and may be long or odd.
import { hash } from 'node:crypto';
import { z } from 'zod';
import { InvalidRequestError, NotFoundError } from '../errors.ts';
import type { ObjectStore } from '../store/types.ts';
import { budgetDuration, money } from './budget-fields.ts';
import type { DefinitionFolder } from './definition-source.ts';
import { isValidDuration } from './window.ts';

export const CUSTOMERS_PREFIX = 'control/customers/';

export interface CustomerDefinition {
  /** The id as spend records store it (hashed with privacy.hash_user_ids). */
  user_id: string;
  alias: string | null;
  /** USD per window; null = the default customer budget applies (budgets.default_customer_budget). */
  max_budget: number | null;
  budget_duration: string | null;
  soft_budget: number | null;
  /** Every request of a blocked customer is refused (403). */
  blocked: boolean;
  created_at: string;
  updated_at: string;
  /** Key alias (or `master`) that created / last changed the definition. */
  created_by: string | null;
  updated_by: string | null;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const userId = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(512, 'must be at most 512 characters')
  .refine((s) => !CONTROL.test(s), 'must not contain control characters')
  .refine((s) => !LONE_SURROGATE.test(s), 'must be valid Unicode (no lone surrogates)');

const fields = {
  alias: z.string({ error: 'must be a string' }).max(256, 'must be at most 256 characters').nullable().optional(),
  max_budget: money.nullable().optional(),
  budget_duration: budgetDuration.nullable().optional(),
  soft_budget: money.nullable().optional(),
  blocked: z.boolean({ error: 'must be true or false' }).optional(),
};
const inputSchema = z.strictObject({ user_id: userId, ...fields });
export type CustomerInput = z.output<typeof inputSchema>;

/** LiteLLM fields tagspend does not implement: named in the 400 so nobody believes they took effect. */
const UNSUPPORTED = new Set(['budget_id', 'allowed_model_region', 'default_model', 'metadata', 'tpm_limit', 'rpm_limit', 'model_max_budget', 'max_parallel_requests', 'spend', 'budget_reset_at', 'object_permission']);

const storedSchema = z.object({
  user_id: z.string().min(1),
  alias: z.string().nullable().default(null),
  max_budget: z.number().nullable().default(null),
  budget_duration: z.string().refine(isValidDuration).nullable().default(null),
  soft_budget: z.number().nullable().default(null),
  blocked: z.boolean().default(false),
  created_at: z.string(),
  updated_at: z.string(),
  created_by: z.string().nullable().default(null),
  updated_by: z.string().nullable().default(null),
});

export function parseCustomerInput(body: unknown): CustomerInput {
  const r = inputSchema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const field = issue.keys[0]!;
    const why = UNSUPPORTED.has(field) ? `"${field}" is a LiteLLM field tagspend does not support` : `unknown field "${field}"`;
    throw new InvalidRequestError(`Invalid customer: ${why}`, { param: field });
  }
  const field = String(issue.path[0] ?? 'body');
  throw new InvalidRequestError(`Invalid customer: ${field}: ${issue.message}`, { param: field });
}

function checkConsistent(def: CustomerDefinition): void {
  if (def.max_budget !== null && def.budget_duration === null) {
    throw new InvalidRequestError('Invalid customer: budget_duration is required with max_budget', { param: 'budget_duration' });
  }
  if (def.soft_budget !== null && def.budget_duration === null) {
    throw new InvalidRequestError('Invalid customer: budget_duration is required with soft_budget', { param: 'budget_duration' });
  }
}

export function parseStoredCustomer(text: string): CustomerDefinition {
  return storedSchema.parse(JSON.parse(text)) as CustomerDefinition;
}

export function customerKey(storedId: string): string {
  return `${CUSTOMERS_PREFIX}${hash('sha256', storedId, 'hex').slice(0, 40)}.json`;
}

export const CUSTOMER_FOLDER: DefinitionFolder<CustomerDefinition> = {
  prefix: CUSTOMERS_PREFIX,
  parse: parseStoredCustomer,
  idOf: (d) => d.user_id,
  what: 'customer',
};

/** CRUD on customer definitions; ids are given in their stored form. */
export class CustomerRegistry {
  constructor(private readonly store: ObjectStore) {}

  async get(storedId: string): Promise<CustomerDefinition | null> {
    const got = await this.store.get(customerKey(storedId));
    if (!got || !('body' in got)) return null;
    const def = parseStoredCustomer(got.body.toString('utf8'));
    return def.user_id === storedId ? def : null;
  }

  async create(storedId: string, input: CustomerInput, actor: string | null, nowMs: number): Promise<CustomerDefinition> {
    if (await this.get(storedId)) {
      throw new InvalidRequestError(`Customer already exists, passed user_id=${input.user_id}. Please pass a new user_id.`, { param: 'user_id' });
    }
    const at = new Date(nowMs).toISOString();
    const def: CustomerDefinition = {
      user_id: storedId,
      alias: input.alias ?? null,
      max_budget: input.max_budget ?? null,
      budget_duration: input.budget_duration ?? null,
      soft_budget: input.soft_budget ?? null,
      blocked: input.blocked ?? false,
      created_at: at,
      updated_at: at,
      created_by: actor,
      updated_by: actor,
    };
    checkConsistent(def);
    await this.write(def);
    return def;
  }

  /** Changes only the fields present in `input`; `null` clears a field. */
  async update(storedId: string, input: CustomerInput, actor: string | null, nowMs: number): Promise<CustomerDefinition> {
    const old = await this.get(storedId);
    if (!old) throw new NotFoundError(`End User Id=${input.user_id} does not exist in db`, { param: 'user_id' });
    const def: CustomerDefinition = { ...old, updated_at: new Date(nowMs).toISOString(), updated_by: actor };
    if (input.alias !== undefined) def.alias = input.alias;
    if (input.max_budget !== undefined) def.max_budget = input.max_budget;
    if (input.budget_duration !== undefined) def.budget_duration = input.budget_duration;
    if (input.soft_budget !== undefined) def.soft_budget = input.soft_budget;
    if (input.blocked !== undefined) def.blocked = input.blocked;
    checkConsistent(def);
    await this.write(def);
    return def;
  }

  async delete(storedId: string): Promise<void> {
    await this.store.delete(customerKey(storedId));
  }

  /** Every definition; unreadable objects are passed to `onBad` and skipped. */
  async list(onBad: (key: string, err: unknown) => void = () => {}): Promise<CustomerDefinition[]> {
    const out: CustomerDefinition[] = [];
    for await (const info of this.store.list(CUSTOMERS_PREFIX)) {
      const got = await this.store.get(info.key);
      if (!got || !('body' in got)) continue;
      try {
        out.push(parseStoredCustomer(got.body.toString('utf8')));
      } catch (err) {
        onBad(info.key, err);
      }
    }
    return out;
  }

  private async write(def: CustomerDefinition): Promise<void> {
    await this.store.put(customerKey(def.user_id), `${JSON.stringify(def, null, 2)}\n`, { contentType: 'application/json' });
  }
}
