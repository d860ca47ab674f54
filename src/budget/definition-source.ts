// A proxy's view of a folder of definition objects in the store (control/tags/, control/customers/): a
// listing per poll and a read only of the objects whose ETag changed, so an unchanged folder
// costs one LIST request. Definitions are indexed by the id each one holds, never by file name.
import type { Logger } from '../log.ts';
import type { ObjectStore } from '../store/types.ts';
import { POLL_DEADLINE_MS, withDeadline } from './deadline.ts';

export interface DefinitionFolder<T> {
  prefix: string;
  /** Throws on anything that is not a definition (logged and skipped). */
  parse(text: string): T;
  idOf(def: T): string;
  /**
   * The object key an id is written under now, for folders whose key scheme changed: an id
   * found under two keys (a legacy key beside the current one) counts from the current key.
   */
  keyOf?(id: string): string;
  /** For log lines: what one object is. */
  what: string;
}

export class DefinitionSource<T> {
  private readonly byKey = new Map<string, { etag: string; def: T | null }>();
  private readonly byId = new Map<string, T>();
  private loadedOnce = false;
  private readonly log: Logger;

  constructor(
    private readonly store: ObjectStore,
    private readonly folder: DefinitionFolder<T>,
    logger: Logger,
    /** How long a poll may take before it counts as failed. */
    private readonly deadlineMs: number = POLL_DEADLINE_MS,
  ) {
    this.log = logger.child({ component: `${folder.what}-definitions` });
  }

  /** False until one listing succeeded. */
  get loaded(): boolean {
    return this.loadedOnce;
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): T | undefined {
    return this.byId.get(id);
  }

  all(): T[] {
    return [...this.byId.values()];
  }

  /** This proxy just wrote or deleted a definition: use it now, before the next poll. */
  set(def: T): void {
    this.byId.set(this.folder.idOf(def), def);
  }

  remove(id: string): void {
    this.byId.delete(id);
  }

  /**
   * Never throws: a failed poll logs and keeps the definitions held. A poll that has not finished
   * after `deadlineMs` counts as failed (deadline.ts); what it finds later is discarded, so an
   * older listing never replaces a newer one.
   */
  async poll(): Promise<void> {
    try {
      await withDeadline(this.deadlineMs, `the ${this.folder.what} definitions poll`, (current) => this.pollOnce(current));
    } catch (err) {
      this.log.error({ err }, `could not list ${this.folder.what} definitions; keeping the ones held`);
    }
  }

  private async pollOnce(current: () => boolean): Promise<void> {
    const seen = new Set<string>();
    const read = new Map<string, { etag: string; def: T | null }>();
    for await (const info of this.store.list(this.folder.prefix)) {
      seen.add(info.key);
      const held = this.byKey.get(info.key);
      if (held && held.etag === info.etag) continue;
      const got = await this.store.get(info.key);
      if (!got || !('body' in got)) continue;
      let def: T | null = null;
      try {
        def = this.folder.parse(got.body.toString('utf8'));
      } catch (err) {
        this.log.error({ err, object_key: info.key }, `${this.folder.what} definition is unreadable; ignoring it`);
      }
      read.set(info.key, { etag: info.etag, def });
    }
    if (!current()) return;
    let changed = read.size > 0;
    for (const [key, entry] of read) this.byKey.set(key, entry);
    for (const key of [...this.byKey.keys()]) {
      if (!seen.has(key)) {
        this.byKey.delete(key);
        changed = true;
      }
    }
    if (changed || !this.loadedOnce) {
      this.byId.clear();
      const { idOf, keyOf } = this.folder;
      for (const [key, { def }] of this.byKey) {
        if (!def) continue;
        const id = idOf(def);
        if (!this.byId.has(id) || keyOf?.(id) === key) this.byId.set(id, def);
      }
    }
    this.loadedOnce = true;
  }
}
