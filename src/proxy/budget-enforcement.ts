// Budget enforcement as the proxy runs it: the block-list and tag-definition pollers, the gate
// they feed, and the /tag/* routes, started and stopped together.
import type { ResolvedConfig } from '../config/load.ts';
import type { Logger } from '../log.ts';
import type { KeyRing } from './auth.ts';
import { createTagRoutes } from './tag-routes.ts';
import type { ObjectStore } from '../store/types.ts';
import { BlockListSource } from '../budget/blocklist.ts';
import { BudgetEnforcer } from '../budget/gate.ts';
import { TagSource } from '../budget/tag-source.ts';
import { TagRegistry } from '../budget/tags.ts';

/** How long the proxy start waits for the first poll before serving with what it has. */
const FIRST_POLL_WAIT_MS = 3_000;

export interface BudgetEnforcement {
  gate: BudgetEnforcer;
  routes: ReturnType<typeof createTagRoutes>;
  blockList: BlockListSource;
  tags: TagSource;
  /** One poll of both sources now (tests; the timer does the same). */
  pollNow(): Promise<void>;
  close(): Promise<void>;
}

export async function startBudgetEnforcement(options: {
  resolved: ResolvedConfig;
  store: ObjectStore;
  keyring: KeyRing;
  logger: Logger;
  clock: () => number;
}): Promise<BudgetEnforcement> {
  const { resolved, store, logger, clock } = options;
  const blockList = new BlockListSource({ store, localFile: resolved.paths.blockList, logger });
  blockList.loadLocal();
  const tags = new TagSource(store, logger);
  const gate = new BudgetEnforcer({ definitions: tags, blockList }, resolved.config.timezone);
  const routes = createTagRoutes({
    keyring: options.keyring,
    registry: new TagRegistry(store),
    source: tags,
    enforcer: gate,
    seenInSpend: () => blockList.current?.seen_tags ?? [],
    clock,
  });

  let inFlight: Promise<void> | null = null;
  const pollNow = (): Promise<void> => {
    inFlight ??= Promise.all([blockList.poll(), tags.poll()]).then(
      () => {
        inFlight = null;
      },
      () => {
        inFlight = null;
      },
    );
    return inFlight;
  };

  const intervalMs = resolved.config.budgets.poll_interval_seconds * 1000;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      void pollNow().finally(schedule);
    }, intervalMs);
    timer.unref();
  };

  // Serve with what the first poll brings if it is quick; a slow or unreachable store must not
  // hold the proxy's start (the local copy of the block-list is in force meanwhile).
  let waitTimer: NodeJS.Timeout | undefined;
  await Promise.race([pollNow(), new Promise<void>((r) => (waitTimer = setTimeout(r, FIRST_POLL_WAIT_MS)))]);
  clearTimeout(waitTimer);
  schedule();

  return {
    gate,
    routes,
    blockList,
    tags,
    pollNow,
    async close() {
      stopped = true;
      if (timer) clearTimeout(timer);
      // A poll hanging on an unresponsive store must not hold the shutdown.
      let t: NodeJS.Timeout | undefined;
      await Promise.race([inFlight, new Promise<void>((r) => (t = setTimeout(r, 1_000)))]);
      clearTimeout(t);
    },
  };
}
