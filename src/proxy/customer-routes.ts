// LiteLLM's customer (end user) endpoints, master key only: /customer/new, /customer/info,
// /customer/update, /customer/delete, /customer/list, /customer/block, /customer/unblock (and the
// same under /end_user/). Answers have LiteLLM's shape (`user_id`, `alias`, `spend`, `blocked`,
// `litellm_budget_table`) plus this proxy's view of the budget. Ids are turned into their stored
// form (hashed with privacy.hash_user_ids) before anything is looked up or written.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CustomerDefinition, CustomerRegistry } from '../budget/customers.ts';
import { parseCustomerInput } from '../budget/customers.ts';
import type { DefinitionSource } from '../budget/definition-source.ts';
import type { BudgetEnforcer } from '../budget/gate.ts';
import { InvalidRequestError, NotFoundError } from '../errors.ts';
import { actorOf, type KeyRing } from './auth.ts';
import { jsonBody, queryOf, sendJson } from './http.ts';
import type { UserIdForm } from './user-id.ts';

type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface CustomerRouteDeps {
  keyring: KeyRing;
  registry: CustomerRegistry;
  source: DefinitionSource<CustomerDefinition>;
  enforcer: BudgetEnforcer;
  storedId: UserIdForm;
  clock: () => number;
}

function userIds(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 1000 || !value.every((v) => typeof v === 'string' && v.length > 0 && v.length <= 512)) {
    throw new InvalidRequestError('user_ids must be a list of 1 to 1000 non-empty strings', { param: 'user_ids' });
  }
  return [...new Set(value as string[])];
}

export function createCustomerRoutes(deps: CustomerRouteDeps): Record<string, RouteHandler> {
  const { keyring, registry, source, enforcer, storedId, clock } = deps;

  /** `asked`: the id the caller gave (shown as `user_id`); the list only knows the stored form. */
  function view(def: CustomerDefinition, asked: string = def.user_id) {
    const status = enforcer.status('customer', def.user_id, clock());
    const own = def.max_budget !== null;
    return {
      user_id: asked,
      stored_user_id: def.user_id,
      alias: def.alias,
      spend: status?.spend ?? 0,
      blocked: def.blocked,
      allowed_model_region: null,
      default_model: null,
      budget_id: null,
      litellm_budget_table:
        status === null && def.soft_budget === null
          ? null
          : {
              max_budget: status?.max_budget ?? null,
              soft_budget: def.soft_budget,
              budget_duration: status?.budget_duration ?? def.budget_duration,
              budget_reset_at: status?.budget_reset_at ?? null,
            },
      budget_source: status === null ? null : own ? 'own' : 'default',
      window_start: status?.window_start ?? null,
      reconciled_spend: status?.reconciled_spend ?? null,
      unreconciled_spend: status?.unreconciled_spend ?? null,
      other_proxies_spend: status?.other_proxies_spend ?? null,
      reserved: status?.reserved ?? null,
      budget_blocked: status?.blocked ?? false,
      created_at: def.created_at,
      updated_at: def.updated_at,
      created_by: def.created_by,
      updated_by: def.updated_by,
    };
  }

  async function existing(ids: readonly string[], param: string): Promise<CustomerDefinition[]> {
    const defs = await Promise.all(ids.map((id) => registry.get(storedId(id))));
    const missing = ids.filter((_, i) => defs[i] === null);
    if (missing.length > 0) throw new NotFoundError(`End User Id(s)=${missing.join(', ')} do not exist in db`, { param });
    return defs as CustomerDefinition[];
  }

  async function setBlocked(req: IncomingMessage, res: ServerResponse, blocked: boolean): Promise<void> {
    const p = keyring.authenticateAdmin(req.headers);
    const ids = userIds((await jsonBody(req)).user_ids);
    await existing(ids, 'user_ids');
    const out = [];
    for (const id of ids) {
      const def = await registry.update(storedId(id), { user_id: id, blocked }, actorOf(p), clock());
      source.set(def);
      out.push(view(def, id));
    }
    sendJson(res, 200, { [blocked ? 'blocked_users' : 'unblocked_users']: out });
  }

  const routes: Record<string, RouteHandler> = {
    'POST /customer/new': async (req, res) => {
      const p = keyring.authenticateAdmin(req.headers);
      const input = parseCustomerInput(await jsonBody(req));
      const def = await registry.create(storedId(input.user_id), input, actorOf(p), clock());
      source.set(def);
      sendJson(res, 200, view(def, input.user_id));
    },
    'GET /customer/info': async (req, res) => {
      keyring.authenticateAdmin(req.headers);
      const id = queryOf(req).get('end_user_id');
      if (!id) throw new InvalidRequestError('end_user_id is required (?end_user_id=...)', { param: 'end_user_id' });
      const def = await registry.get(storedId(id));
      if (!def) throw new NotFoundError(`End User Id=${id} does not exist in db`, { param: 'end_user_id' });
      sendJson(res, 200, view(def, id));
    },
    'POST /customer/update': async (req, res) => {
      const p = keyring.authenticateAdmin(req.headers);
      const input = parseCustomerInput(await jsonBody(req));
      const def = await registry.update(storedId(input.user_id), input, actorOf(p), clock());
      source.set(def);
      sendJson(res, 200, view(def, input.user_id));
    },
    'POST /customer/delete': async (req, res) => {
      keyring.authenticateAdmin(req.headers);
      const ids = userIds((await jsonBody(req)).user_ids);
      await existing(ids, 'user_ids');
      for (const id of ids) {
        await registry.delete(storedId(id));
        source.remove(storedId(id));
      }
      sendJson(res, 200, { deleted_customers: ids.length, message: `Successfully deleted customers with ids: ${JSON.stringify(ids)}` });
    },
    'GET /customer/list': async (req, res) => {
      keyring.authenticateAdmin(req.headers);
      const defs = await registry.list();
      sendJson(res, 200, defs.sort((a, b) => a.user_id.localeCompare(b.user_id)).map((d) => view(d)));
    },
    'POST /customer/block': (req, res) => setBlocked(req, res, true),
    'POST /customer/unblock': (req, res) => setBlocked(req, res, false),
  };
  // LiteLLM's older names for the same endpoints.
  for (const [k, h] of Object.entries({ ...routes })) routes[k.replace('/customer/', '/end_user/')] = h;
  return routes;
}
