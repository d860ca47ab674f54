// control/blocklist.json: what the budgets job decided, read by every proxy. The poller keeps
// the last good copy in memory and on local disk, so a store outage, a half-written or corrupt
// object, or a restart during an outage never unblocks a tag silently.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import type { ObjectStore } from '../store/types.ts';
import { POLL_DEADLINE_MS, withDeadline } from './deadline.ts';
import { isValidDuration } from './window.ts';

export const BLOCKLIST_KEY = 'control/blocklist.json';
export const BLOCKLIST_SCHEMA = 1;

const entrySchema = z.object({
  spend: z.number().finite(),
  max_budget: z.number().finite(),
  budget_duration: z.string().refine(isValidDuration),
  window_start: z.string(),
  reset_at: z.string(),
  blocked: z.boolean(),
});

const blockListSchema = z.object({
  schema: z.literal(BLOCKLIST_SCHEMA),
  generated_at: z.string(),
  /** Newest spend record ts the job had loaded: its spend figures are exact up to here. */
  watermark: z.string().nullable(),
  timezone: z.string(),
  tags: z.record(z.string(), entrySchema),
  /** Tags seen in spend that have no definition (for /tag/list). */
  seen_tags: z.array(z.string()).default([]),
  // Added after the first release, inside schema 1: a proxy that predates them ignores them (zod
  // strips unknown keys), and a list written before them reads as having none. Lists, not
  // objects keyed by name: an end user's id is client-chosen and may be `__proto__`.
  /** Customers (end users, by the stored form of their id) with a budget: their own or the default one. */
  customers: z.array(entrySchema.extend({ id: z.string() })).default([]),
  /** Keys (by alias) with a budget in the config. */
  keys: z.array(entrySchema.extend({ alias: z.string() })).default([]),
});

export type BlockListEntry = z.output<typeof entrySchema>;
export type CustomerEntry = BlockListEntry & { id: string };
export type KeyEntry = BlockListEntry & { alias: string };
export type BlockList = z.output<typeof blockListSchema>;

/** Throws when the text is not a complete, valid block-list. */
export function parseBlockList(text: string): BlockList {
  return blockListSchema.parse(JSON.parse(text));
}

export function serializeBlockList(list: BlockList): string {
  return `${JSON.stringify(list, null, 2)}\n`;
}

export interface BlockListPollerOptions {
  store: ObjectStore;
  /** `<data_dir>/blocklist.json`: the last good copy survives restarts during an outage. */
  localFile: string;
  logger: Logger;
  onChange?: (list: BlockList) => void;
  /** How long a read may take before it counts as failed (default POLL_DEADLINE_MS). */
  deadlineMs?: number;
}

export class BlockListSource {
  private etag: string | undefined;
  private list: BlockList | null = null;
  private readonly log: Logger;

  constructor(private readonly options: BlockListPollerOptions) {
    this.log = options.logger.child({ component: 'blocklist' });
  }

  get current(): BlockList | null {
    return this.list;
  }

  /** The local copy from an earlier run, if there is a readable one. */
  loadLocal(): BlockList | null {
    let text: string;
    try {
      text = readFileSync(this.options.localFile, 'utf8');
    } catch {
      return null;
    }
    try {
      this.accept(parseBlockList(text), false);
    } catch (err) {
      this.log.error({ err, file: this.options.localFile }, 'local block-list copy is unreadable; ignoring it');
    }
    return this.list;
  }

  /**
   * One conditional read of the store; never throws (problems are logged, the last good list
   * stays). A read still running after POLL_DEADLINE_MS counts as failed and its answer is dropped.
   */
  async poll(): Promise<void> {
    let got;
    try {
      got = await withDeadline(this.options.deadlineMs ?? POLL_DEADLINE_MS, 'the block-list read', () =>
        this.options.store.get(BLOCKLIST_KEY, this.etag === undefined ? {} : { ifNoneMatch: this.etag }),
      );
    } catch (err) {
      this.log.error({ err }, 'could not read the block-list from the store; keeping the last good one');
      return;
    }
    if (got === null) return; // no budgets job has run yet
    if (!('body' in got)) return; // not modified
    let parsed: BlockList;
    try {
      parsed = parseBlockList(got.body.toString('utf8'));
    } catch (err) {
      this.log.error({ err: err instanceof z.ZodError ? z.prettifyError(err) : err, object_key: BLOCKLIST_KEY }, 'block-list in the store is corrupt; keeping the last good one');
      // Remember the bad version so the same bytes are not parsed (and logged) on every poll.
      this.etag = got.etag;
      return;
    }
    this.etag = got.etag;
    // A list older than the one held (a lagging replica, a restored backup) is not a step back.
    if (this.list && Date.parse(parsed.generated_at) < Date.parse(this.list.generated_at)) return;
    this.accept(parsed, true);
  }

  private accept(list: BlockList, persist: boolean): void {
    this.list = list;
    if (persist) {
      try {
        mkdirSync(dirname(this.options.localFile), { recursive: true });
        const tmp = `${this.options.localFile}.tmp`;
        writeFileSync(tmp, serializeBlockList(list));
        renameSync(tmp, this.options.localFile);
      } catch (err) {
        this.log.warn({ err, file: this.options.localFile }, 'could not keep a local copy of the block-list');
      }
    }
    this.options.onChange?.(list);
  }
}
