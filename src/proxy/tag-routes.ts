// Tag admin endpoints: create, read, update, delete and list tag definitions, with each tag's
// budget state as this proxy sees it. The master key may change every tag; a key with
// `manage_tags` only the tags its allowed_tags match (a 403 names any other), and every change
// records who made it. Bad input is a 400 naming the field, a missing tag a 404; a store
// problem is a 503 (StoreError), never a 500.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BudgetEnforcer, BudgetStatus } from '../budget/gate.ts';
import { parseNames, parseTagInput, type TagChange, type TagDefinition, type TagRegistry, type TagSource } from '../budget/tags.ts';
import { InvalidRequestError, NotFoundError, TagNotAllowedError } from '../errors.ts';
import { actorOf, type KeyRing, type Principal } from './auth.ts';
import { jsonBody, queryOf, sendJson } from './http.ts';

type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface TagRouteDeps {
  keyring: KeyRing;
  registry: TagRegistry;
  /** This proxy's live view of the definitions: updated at once after a write here. */
  source: TagSource;
  enforcer: BudgetEnforcer;
  /** Tags seen in spend by the budgets job (block-list `seen_tags`). */
  seenInSpend: () => readonly string[];
  clock: () => number;
}

export interface TagView extends Partial<BudgetStatus> {
  name: string;
  defined: boolean;
  description: string | null;
  soft_budget: number | null;
  alert_thresholds: number[] | null;
  created_at: string | null;
  updated_at: string | null;
  created_by: string | null;
  updated_by: string | null;
  history: TagChange[];
}

export function createTagRoutes(deps: TagRouteDeps): Record<string, RouteHandler> {
  const { keyring, registry, source, enforcer, clock } = deps;

  /** The master key manages every tag; a manage_tags key only those its allowed_tags match. */
  function mayManage(p: Principal, name: string): boolean {
    return p.kind !== 'key' || (p.tagAccess?.matches(name) ?? false);
  }

  function checkManage(p: Principal, names: readonly string[]): void {
    for (const name of names) {
      if (!mayManage(p, name)) {
        throw new TagNotAllowedError(`Key "${p.alias}" may not manage the tag "${name}" (allowed_tags: ${p.tagAccess?.globs.join(', ') ?? ''})`, { param: 'name' });
      }
    }
  }

  function view(name: string, def: TagDefinition | null): TagView {
    const status = def ? enforcer.status('tag', name, clock()) : null;
    return {
      name,
      defined: def !== null,
      description: def?.description ?? null,
      max_budget: def?.max_budget ?? null,
      budget_duration: def?.budget_duration ?? null,
      soft_budget: def?.soft_budget ?? null,
      alert_thresholds: def?.alert_thresholds ?? null,
      created_at: def?.created_at ?? null,
      updated_at: def?.updated_at ?? null,
      created_by: def?.created_by ?? null,
      updated_by: def?.updated_by ?? null,
      history: def?.history ?? [],
      window_start: null,
      budget_reset_at: null,
      reconciled_spend: null,
      unreconciled_spend: null,
      other_proxies_spend: null,
      reserved: null,
      spend: null,
      blocked: false,
      ...(status ?? {}),
    } as TagView;
  }

  /**
   * LiteLLM's /tag/info answer: an object keyed by tag name, each with LiteLLM's fields (`models`,
   * `model_info`, `litellm_budget_table`) beside tagspend's. Null prototype: names are client-chosen.
   */
  function liteLLMInfo(views: readonly TagView[]): Record<string, unknown> {
    const out: Record<string, unknown> = Object.create(null);
    for (const v of views) {
      out[v.name] = {
        ...v,
        models: [],
        model_info: {},
        litellm_budget_table:
          v.max_budget === null && v.soft_budget === null
            ? null
            : { max_budget: v.max_budget, soft_budget: v.soft_budget, budget_duration: v.budget_duration, budget_reset_at: v.budget_reset_at ?? null },
      };
    }
    return out;
  }

  async function lookup(names: string[]): Promise<TagView[]> {
    const defs = await Promise.all(names.map((n) => registry.get(n)));
    const missing = names.filter((_, i) => defs[i] === null);
    if (missing.length > 0) throw new NotFoundError(`Tag not found: ${missing.map((m) => JSON.stringify(m)).join(', ')}`, { param: 'names' });
    return names.map((n, i) => view(n, defs[i]!));
  }

  function nameOf(body: Record<string, unknown>): string[] {
    if (body.names !== undefined) return parseNames(body.names);
    if (typeof body.name !== 'string' || body.name.length === 0) throw new InvalidRequestError('name is required', { param: 'name' });
    return parseNames([body.name], 'name');
  }

  return {
    'POST /tag/new': async (req, res) => {
      const p = keyring.authenticateTagAdmin(req.headers);
      const input = parseTagInput(await jsonBody(req));
      checkManage(p, [input.name]);
      const def = await registry.create(input, clock(), actorOf(p));
      source.set(def);
      sendJson(res, 200, view(def.name, def));
    },
    'POST /tag/update': async (req, res) => {
      const p = keyring.authenticateTagAdmin(req.headers);
      const input = parseTagInput(await jsonBody(req));
      checkManage(p, [input.name]);
      const def = await registry.update(input, clock(), actorOf(p));
      source.set(def);
      sendJson(res, 200, view(def.name, def));
    },
    'POST /tag/delete': async (req, res) => {
      const p = keyring.authenticateTagAdmin(req.headers);
      const names = nameOf(await jsonBody(req));
      checkManage(p, names);
      for (const name of names) if (!(await registry.get(name))) throw new NotFoundError(`Tag not found: ${JSON.stringify(name)}`, { param: 'name' });
      for (const name of names) {
        await registry.delete(name);
        source.remove(name);
      }
      sendJson(res, 200, { deleted: names });
    },
    // tagspend's shape: a list of views (the CLI's `tags info` reads either shape).
    'GET /tag/info': async (req, res) => {
      const p = keyring.authenticateTagAdmin(req.headers);
      const names = parseNames(queryOf(req).get('names') ?? '');
      checkManage(p, names);
      sendJson(res, 200, await lookup(names));
    },
    // LiteLLM's shape, for LiteLLM clients: {"<tag>": {...}}.
    'POST /tag/info': async (req, res) => {
      const p = keyring.authenticateTagAdmin(req.headers);
      const names = parseNames((await jsonBody(req)).names);
      checkManage(p, names);
      sendJson(res, 200, liteLLMInfo(await lookup(names)));
    },
    'GET /tag/list': async (req, res) => {
      const p = keyring.authenticateTagAdmin(req.headers);
      const defs = (await registry.list()).filter((d) => mayManage(p, d.name));
      const defined = new Set(defs.map((d) => d.name));
      const out = defs.sort((a, b) => a.name.localeCompare(b.name)).map((d) => view(d.name, d));
      const undefinedTags = new Set([...deps.seenInSpend(), ...enforcer.seenTags()].filter((t) => !defined.has(t) && mayManage(p, t)));
      for (const name of [...undefinedTags].sort()) out.push(view(name, null));
      sendJson(res, 200, out);
    },
  };
}
