// Budget enforcement as the proxy runs it: the block-list, tag and customer definition pollers,
// the usage exchange with the other proxies (the fleet), the gate they feed, and the /tag/* and
// /customer/* routes, started and stopped together.
import type { ResolvedConfig } from '../config/load.ts';
import type { Logger } from '../log.ts';
import type { KeyRing } from './auth.ts';
import { createCustomerRoutes } from './customer-routes.ts';
import { createTagRoutes } from './tag-routes.ts';
import type { ObjectStore } from '../store/types.ts';
import { BlockListSource } from '../budget/blocklist.ts';
import { CUSTOMER_FOLDER, CustomerRegistry, type CustomerDefinition } from '../budget/customers.ts';
import { DefinitionSource } from '../budget/definition-source.ts';
import { Fleet } from '../budget/fleet.ts';
import { BudgetEnforcer } from '../budget/gate.ts';
import { TAG_FOLDER, TagRegistry, type TagSource } from '../budget/tags.ts';
import type { RouteHandler } from './server.ts';
import { userIdForm } from './user-id.ts';

/** How long the proxy start waits for the first poll before serving with what it has. */
const FIRST_POLL_WAIT_MS = 3_000;
/** How long a shutdown waits for a poll or exchange hanging on an unresponsive store. */
const CLOSE_WAIT_MS = 1_000;

export interface BudgetEnforcement {
  gate: BudgetEnforcer;
  routes: Record<string, RouteHandler>;
  blockList: BlockListSource;
  tags: TagSource;
  customers: DefinitionSource<CustomerDefinition>;
  fleet: Fleet;
  /** One poll of the block-list and the definitions now (tests; the timer does the same). */
  pollNow(): Promise<void>;
  /** One usage exchange with the other proxies now (tests; the timer does the same). */
  shareNow(): Promise<void>;
  close(): Promise<void>;
}

/** Runs `task` every `intervalMs` (never two at once) until stopped; `now()` runs it at once. */
function repeating(task: () => Promise<unknown>, intervalMs: number) {
  let inFlight: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const now = (): Promise<void> => {
    inFlight ??= task().then(
      () => void (inFlight = null),
      () => void (inFlight = null),
    );
    return inFlight;
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void now().finally(schedule), intervalMs);
    timer.unref();
  };
  return {
    now,
    start: schedule,
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await waitAtMost(inFlight, CLOSE_WAIT_MS);
    },
  };
}

async function waitAtMost(p: Promise<unknown> | null, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (t = setTimeout(r, ms)))]);
  clearTimeout(t);
}

export async function startBudgetEnforcement(options: {
  resolved: ResolvedConfig;
  store: ObjectStore;
  keyring: KeyRing;
  logger: Logger;
  clock: () => number;
  instance: string;
}): Promise<BudgetEnforcement> {
  const { resolved, store, logger, clock } = options;
  const settings = resolved.config.budgets;
  const blockList = new BlockListSource({ store, localFile: resolved.paths.blockList, logger });
  blockList.loadLocal();
  const tags = new DefinitionSource(store, TAG_FOLDER, logger);
  const customers = new DefinitionSource(store, CUSTOMER_FOLDER, logger);
  let fleet: Fleet | null = null;
  const gate = new BudgetEnforcer(
    { definitions: tags, customers, blockList, fleet: { fresh: (nowMs) => fleet!.fresh(nowMs) } },
    { timeZone: resolved.config.timezone, defaultCustomerBudget: settings.default_customer_budget ?? null, failClosed: settings.fail_closed },
  );
  fleet = new Fleet({ store, instance: options.instance, gate, clock, logger, staleMs: settings.share_stale_seconds * 1000 });
  const routes: Record<string, RouteHandler> = {
    ...createTagRoutes({
      keyring: options.keyring,
      registry: new TagRegistry(store),
      source: tags,
      enforcer: gate,
      seenInSpend: () => blockList.current?.seen_tags ?? [],
      clock,
    }),
    ...createCustomerRoutes({
      keyring: options.keyring,
      registry: new CustomerRegistry(store),
      source: customers,
      enforcer: gate,
      storedId: userIdForm(resolved.config.privacy.hash_user_ids ? resolved.userIdSalt : null),
      clock,
    }),
  };

  const polls = repeating(() => Promise.all([blockList.poll(), tags.poll(), customers.poll()]), settings.poll_interval_seconds * 1000);
  const shares = repeating(() => fleet.exchange(), settings.share_interval_seconds * 1000);

  // Serve with what the first poll brings if it is quick; a slow or unreachable store must not
  // hold the proxy's start (the local copy of the block-list is in force meanwhile).
  await waitAtMost(
    polls.now().then(() => shares.now()),
    FIRST_POLL_WAIT_MS,
  );
  polls.start();
  shares.start();

  return {
    gate,
    routes,
    blockList,
    tags,
    customers,
    fleet,
    pollNow: polls.now,
    shareNow: shares.now,
    async close() {
      await polls.stop();
      await shares.stop();
      // A last exchange: the requests are done, so the others see no reservation of ours, and
      // our spend since the watermark counts until the job has loaded our records.
      await waitAtMost(fleet.exchange(), CLOSE_WAIT_MS);
    },
  };
}
