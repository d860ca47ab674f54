// The names of the tag definitions (control/tags/ in the store), for the Hygiene page's "tags
// without a definition". They change without a new snapshot (tagspend tags new, /tag/new), so
// they are read when a hygiene answer is asked for, the way the proxies poll them
// (src/budget/definition-source.ts): one LIST when nothing changed, a GET only for changed
// definitions; concurrent requests share one poll. The store is opened on first use: the other
// pages never touch it.
import type { ResolvedConfig } from '../config/load.ts';
import { DefinitionSource } from '../budget/definition-source.ts';
import { TAG_FOLDER, type TagDefinition } from '../budget/tags.ts';
import type { Logger } from '../log.ts';
import type { ObjectStore } from '../store/types.ts';

export interface TagNamesNow {
  /** null until the store could be listed once (the report then says so in a note). */
  names: ReadonlySet<string> | null;
  /** Changes whenever `names` does: part of the answer cache's key. */
  version: number;
}

export class TagNames {
  private opened: { store: ObjectStore; source: DefinitionSource<TagDefinition> } | null = null;
  private polling: Promise<TagNamesNow> | null = null;
  private last: { text: string | null; now: TagNamesNow } = { text: null, now: { names: null, version: 0 } };

  constructor(
    private readonly resolved: ResolvedConfig,
    private readonly logger: Logger,
  ) {}

  /** The names as the store holds them now (the last ones read, when a poll fails). */
  current(): Promise<TagNamesNow> {
    this.polling ??= this.poll().finally(() => (this.polling = null));
    return this.polling;
  }

  private async poll(): Promise<TagNamesNow> {
    if (this.opened === null) {
      const { openConfiguredStore } = await import('../spool/shipping.ts');
      const store = openConfiguredStore(this.resolved);
      this.opened = { store, source: new DefinitionSource(store, TAG_FOLDER, this.logger) };
    }
    const { source } = this.opened;
    await source.poll();
    if (!source.loaded) return this.last.now;
    const names = source.all().map((d) => d.name).sort();
    const text = names.join('\n');
    if (text !== this.last.text) this.last = { text, now: { names: new Set(names), version: this.last.now.version + 1 } };
    return this.last.now;
  }

  async close(): Promise<void> {
    await this.polling?.catch(() => undefined);
    await this.opened?.store.close();
    this.opened = null;
  }
}
