// `tagspend tags <new|info|update|delete|list>`: the /tag/* admin API of a running proxy, from
// the command line. It only speaks HTTP, so it works against any proxy the master key opens.
import type { Argv, CommandModule } from 'yargs';

interface Common {
  url: string;
  key?: string;
  json: boolean;
}

interface TagArgs extends Common {
  action: 'new' | 'info' | 'update' | 'delete' | 'list';
  names?: string[];
  description?: string;
  'max-budget'?: number;
  duration?: string;
  'soft-budget'?: number;
  thresholds?: string;
}

/** A proxy's error reply, kept whole so the message and the field reach the user. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function call(args: Common, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const key = args.key ?? process.env.TAGSPEND_MASTER_KEY;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  let res: Response;
  try {
    res = await fetch(`${args.url.replace(/\/+$/, '')}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  } catch (err) {
    throw new ApiError(0, `cannot reach the proxy at ${args.url}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: shown as it is
  }
  if (!res.ok) {
    const e = (parsed as { error?: { message?: string; param?: string | null } })?.error;
    throw new ApiError(res.status, `HTTP ${res.status}: ${e?.message ?? text}${e?.param ? ` (field: ${e.param})` : ''}`);
  }
  return parsed;
}

/** The fields given on the command line, named as the API names them. */
function definition(args: TagArgs, name: string): Record<string, unknown> {
  const out: Record<string, unknown> = { name };
  if (args.description !== undefined) out.description = args.description;
  if (args['max-budget'] !== undefined) out.max_budget = args['max-budget'];
  if (args.duration !== undefined) out.budget_duration = args.duration;
  if (args['soft-budget'] !== undefined) out.soft_budget = args['soft-budget'];
  if (args.thresholds !== undefined) out.alert_thresholds = args.thresholds.split(',').map((t) => Number(t.trim()));
  return out;
}

function money(v: unknown): string {
  return typeof v === 'number' ? `$${v.toFixed(v < 1 ? 4 : 2)}` : '-';
}

/** A plain table for humans; --json prints the API's answer instead. */
export function tagTable(tags: readonly Record<string, unknown>[]): string {
  const rows = [['TAG', 'BUDGET', 'WINDOW', 'SPEND', 'UNRECONCILED', 'RESETS', 'STATE']];
  for (const t of tags) {
    rows.push([
      String(t.name),
      money(t.max_budget),
      t.budget_duration ? String(t.budget_duration) : '-',
      money(t.spend),
      money(t.unreconciled_spend),
      t.budget_reset_at ? String(t.budget_reset_at) : '-',
      !t.defined ? 'no definition' : t.blocked ? 'BLOCKED' : t.max_budget === null ? 'no budget' : 'ok',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

async function run(args: TagArgs): Promise<unknown> {
  const names = args.names ?? [];
  const one = () => {
    if (names.length !== 1) throw new ApiError(0, `tags ${args.action} takes exactly one tag name`);
    return names[0]!;
  };
  switch (args.action) {
    case 'new':
      return call(args, 'POST', '/tag/new', definition(args, one()));
    case 'update':
      return call(args, 'POST', '/tag/update', definition(args, one()));
    case 'delete':
      if (names.length === 0) throw new ApiError(0, 'tags delete needs at least one tag name');
      return call(args, 'POST', '/tag/delete', { names });
    case 'info': {
      if (names.length === 0) throw new ApiError(0, 'tags info needs at least one tag name');
      // LiteLLM's shape, an object keyed by tag name (a proxy before it answered with a list).
      const out = await call(args, 'POST', '/tag/info', { names });
      return Array.isArray(out) || out === null || typeof out !== 'object' ? out : Object.values(out);
    }
    case 'list':
      return call(args, 'GET', '/tag/list');
  }
}

export const tagsCommand: CommandModule<object, TagArgs> = {
  command: 'tags <action> [names..]',
  describe: 'Create, show, change, delete and list tags and their budgets (calls a running proxy)',
  builder: (y: Argv) =>
    y
      .positional('action', { choices: ['new', 'info', 'update', 'delete', 'list'] as const, describe: 'What to do' })
      .positional('names', { type: 'string', array: true, describe: 'Tag name(s)' })
      .option('url', { type: 'string', default: process.env.TAGSPEND_URL ?? 'http://127.0.0.1:4000', describe: 'Proxy URL (TAGSPEND_URL)' })
      .option('key', { type: 'string', describe: 'Master key (default: TAGSPEND_MASTER_KEY)' })
      .option('description', { type: 'string', describe: 'Free text' })
      .option('max-budget', { type: 'number', describe: 'USD per window; requests with the tag are blocked once it is reached' })
      .option('duration', { type: 'string', describe: 'Budget window: Ns Nm Nh Nd Nw Nmo (1d midnight, 1w Monday, 1mo the 1st)' })
      .option('soft-budget', { type: 'number', describe: 'USD at which an alert fires (no blocking)' })
      .option('thresholds', { type: 'string', describe: 'Alert thresholds as fractions of the budget, e.g. 0.5,0.8,1' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the API answer as JSON' })
      .example('$0 tags new app:search --max-budget 200 --duration 1mo', 'a monthly budget of $200')
      .example('$0 tags update app:search --max-budget 300', 'raise it (every proxy unblocks within one poll)')
      .example('$0 tags list', 'every tag with spend, budget and state') as never,
  handler: async (argv) => {
    try {
      const out = await run(argv);
      if (!argv.json && Array.isArray(out)) process.stdout.write(tagTable(out as Record<string, unknown>[]));
      else process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      process.stderr.write(`tagspend tags: ${err.message}\n`);
      process.exitCode = err.status === 0 ? 2 : 1;
    }
  },
};
