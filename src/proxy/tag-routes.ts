// Tag admin endpoints (master key): create, read, update, delete and list tag definitions, with
// each tag's budget state as this proxy sees it. Bad input is a 400 naming the field, a missing
// tag a 404; a store problem is a 503 (StoreError), never a 500.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BudgetEnforcer, TagBudgetStatus } from '../budget/gate.ts';
import type { TagSource } from '../budget/tag-source.ts';
import { parseNames, parseTagInput, type TagDefinition, type TagRegistry } from '../budget/tags.ts';
import { InvalidJsonError, InvalidRequestError, NotFoundError } from '../errors.ts';
import type { KeyRing } from './auth.ts';
import { readBody, sendJson } from './http.ts';

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

export interface TagView extends Partial<TagBudgetStatus> {
  name: string;
  defined: boolean;
  description: string | null;
  soft_budget: number | null;
  alert_thresholds: number[] | null;
  created_at: string | null;
  updated_at: string | null;
}

const BODY_LIMIT = 64 * 1024;

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(req, BODY_LIMIT);
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new InvalidJsonError(`Request body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidRequestError('Request body must be a JSON object');
  return body as Record<string, unknown>;
}

function queryOf(req: IncomingMessage): URLSearchParams {
  const q = req.url!.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : req.url!.slice(q + 1));
}

export function createTagRoutes(deps: TagRouteDeps): Record<string, RouteHandler> {
  const { keyring, registry, source, enforcer, clock } = deps;

  function view(name: string, def: TagDefinition | null): TagView {
    const status = def ? enforcer.status(name, clock()) : null;
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
      window_start: null,
      budget_reset_at: null,
      reconciled_spend: null,
      unreconciled_spend: null,
      spend: null,
      blocked: false,
      ...(status ?? {}),
    } as TagView;
  }

  async function info(names: string[], res: ServerResponse): Promise<void> {
    const defs = await Promise.all(names.map((n) => registry.get(n)));
    const missing = names.filter((_, i) => defs[i] === null);
    if (missing.length > 0) throw new NotFoundError(`Tag not found: ${missing.map((m) => JSON.stringify(m)).join(', ')}`, { param: 'names' });
    sendJson(res, 200, names.map((n, i) => view(n, defs[i]!)));
  }

  function nameOf(body: Record<string, unknown>): string[] {
    if (body.names !== undefined) return parseNames(body.names);
    if (typeof body.name !== 'string' || body.name.length === 0) throw new InvalidRequestError('name is required', { param: 'name' });
    return [body.name];
  }

  return {
    'POST /tag/new': async (req, res) => {
      keyring.authenticateAdmin(req.headers);
      const input = parseTagInput(await jsonBody(req));
      const def = await registry.create(input, clock());
      source.set(def);
      sendJson(res, 200, view(def.name, def));
    },
    'POST /tag/update': async (req, res) => {
      keyring.authenticateAdmin(req.headers);
      const input = parseTagInput(await jsonBody(req));
      const def = await registry.update(input, clock());
      source.set(def);
      sendJson(res, 200, view(def.name, def));
    },
    'POST /tag/delete': async (req, res) => {
      keyring.authenticateAdmin(req.headers);
      const names = nameOf(await jsonBody(req));
      for (const name of names) if (!(await registry.get(name))) throw new NotFoundError(`Tag not found: ${JSON.stringify(name)}`, { param: 'name' });
      for (const name of names) {
        await registry.delete(name);
        source.remove(name);
      }
      sendJson(res, 200, { deleted: names });
    },
    'GET /tag/info': async (req, res) => {
      keyring.authenticateAdmin(req.headers);
      await info(parseNames(queryOf(req).get('names') ?? ''), res);
    },
    'POST /tag/info': async (req, res) => {
      keyring.authenticateAdmin(req.headers);
      await info(parseNames((await jsonBody(req)).names), res);
    },
    'GET /tag/list': async (req, res) => {
      keyring.authenticateAdmin(req.headers);
      const defs = await registry.list();
      const defined = new Set(defs.map((d) => d.name));
      const out = defs.sort((a, b) => a.name.localeCompare(b.name)).map((d) => view(d.name, d));
      const undefinedTags = new Set([...deps.seenInSpend(), ...enforcer.seenTags()].filter((t) => !defined.has(t)));
      for (const name of [...undefinedTags].sort()) out.push(view(name, null));
      sendJson(res, 200, out);
    },
  };
}
