// Which tags a key may use: `allowed_tags` globs from config (`team:search`, `tenant:*`), so a
// client cannot charge its spend to another team's tag, and (with `manage_tags`) which tag
// definitions the key may change. `*` matches any run of characters, everything else itself.
import { TagNotAllowedError } from '../errors.ts';

export class TagAccess {
  private readonly exact = new Set<string>();
  private readonly patterns: RegExp[] = [];

  /** `own`: the key's own configured tags, always allowed on its requests. */
  constructor(
    readonly globs: readonly string[],
    private readonly own: readonly string[] = [],
  ) {
    for (const g of globs) {
      if (!g.includes('*')) this.exact.add(g);
      else this.patterns.push(new RegExp(`^${g.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's'));
    }
  }

  /** Whether the globs match the tag (the key's own tags aside). */
  matches(tag: string): boolean {
    if (this.exact.has(tag)) return true;
    for (const p of this.patterns) if (p.test(tag)) return true;
    return false;
  }

  /** Throws a 403 naming the first tag of the request the key may not use. */
  checkRequest(tags: readonly string[], alias: string): void {
    for (const tag of tags) {
      if (this.matches(tag) || this.own.includes(tag)) continue;
      throw new TagNotAllowedError(
        `Key "${alias}" may not put the tag "${tag}" on requests (allowed_tags: ${this.globs.join(', ')})`,
        { param: 'tags' },
      );
    }
  }
}
