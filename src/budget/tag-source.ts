// The proxy's view of the tag definitions in control/tags/: a listing per poll, and a read only
// of the objects whose ETag changed, so an unchanged set of tags costs one LIST request.
import type { Logger } from '../log.ts';
import type { ObjectStore } from '../store/types.ts';
import { parseStoredTag, tagKey, TAGS_PREFIX, type TagDefinition } from './tags.ts';

export class TagSource {
  private readonly byKey = new Map<string, { etag: string; def: TagDefinition | null }>();
  private readonly byName = new Map<string, TagDefinition>();
  private loadedOnce = false;
  private readonly log: Logger;

  constructor(
    private readonly store: ObjectStore,
    logger: Logger,
    private readonly onChange: () => void = () => {},
  ) {
    this.log = logger.child({ component: 'tag-definitions' });
  }

  /** False until one listing succeeded: until then the block-list's own budgets are used. */
  get loaded(): boolean {
    return this.loadedOnce;
  }

  get(name: string): TagDefinition | undefined {
    return this.byName.get(name);
  }

  all(): TagDefinition[] {
    return [...this.byName.values()];
  }

  /** This proxy just wrote or deleted a definition: use it now, before the next poll. */
  set(def: TagDefinition): void {
    this.byName.set(def.name, def);
    this.onChange();
  }

  remove(name: string): void {
    this.byName.delete(name);
    this.onChange();
  }

  /** Never throws: a failed poll logs and keeps the definitions held. */
  async poll(): Promise<void> {
    try {
      const seen = new Set<string>();
      let changed = false;
      for await (const info of this.store.list(TAGS_PREFIX)) {
        seen.add(info.key);
        const held = this.byKey.get(info.key);
        if (held && held.etag === info.etag) continue;
        const got = await this.store.get(info.key);
        if (!got || !('body' in got)) continue;
        let def: TagDefinition | null = null;
        try {
          def = parseStoredTag(got.body.toString('utf8'));
        } catch (err) {
          this.log.error({ err, object_key: info.key }, 'tag definition is unreadable; ignoring it');
        }
        this.byKey.set(info.key, { etag: info.etag, def });
        changed = true;
      }
      for (const key of [...this.byKey.keys()]) {
        if (!seen.has(key)) {
          this.byKey.delete(key);
          changed = true;
        }
      }
      if (changed || !this.loadedOnce) {
        this.byName.clear();
        // A name stored twice (a legacy key beside the current one) counts from the current key.
        for (const [key, { def }] of this.byKey) if (def && (!this.byName.has(def.name) || key === tagKey(def.name))) this.byName.set(def.name, def);
        this.onChange();
      }
      this.loadedOnce = true;
    } catch (err) {
      this.log.error({ err }, 'could not list tag definitions; keeping the ones held');
    }
  }
}
