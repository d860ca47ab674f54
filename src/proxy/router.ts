// Which provider serves a model: `provider/model`, a configured alias, or the default
// provider for a bare model name. Resolved routes are cached (a few hundred distinct model
// names at most), so the hot path does one Map lookup.
import type { ResolvedConfig, ResolvedProvider } from '../config/load.ts';
import { InvalidRequestError, ModelNotAllowedError, ModelNotFoundError } from '../errors.ts';

export interface Route {
  provider: ResolvedProvider;
  /** The model id sent upstream (without the provider prefix). */
  upstreamModel: string;
}

export class Router {
  private readonly providers: ReadonlyMap<string, ResolvedProvider>;
  private readonly aliases: Readonly<Record<string, string>>;
  private readonly defaultProvider: ResolvedProvider | null;
  private readonly cache = new Map<string, Route>();

  constructor(resolved: ResolvedConfig) {
    this.providers = resolved.providers;
    this.aliases = resolved.config.model_aliases;
    const d = resolved.config.default_provider;
    this.defaultProvider = d ? (resolved.providers.get(d) ?? null) : null;
  }

  route(model: unknown): Route {
    if (typeof model !== 'string' || model.length === 0) {
      throw new InvalidRequestError('model is required and must be a string', { param: 'model' });
    }
    const hit = this.cache.get(model);
    if (hit) return hit;
    const route = this.resolve(model);
    if (this.cache.size < 10_000) this.cache.set(model, route);
    return route;
  }

  private resolve(model: string): Route {
    const target = this.aliases[model] ?? model;
    const slash = target.indexOf('/');
    if (slash > 0) {
      const provider = this.providers.get(target.slice(0, slash));
      if (provider) return { provider, upstreamModel: target.slice(slash + 1) };
    }
    if (this.defaultProvider) return { provider: this.defaultProvider, upstreamModel: target };
    const known = [...this.providers.keys()];
    const hint =
      known.length === 0
        ? 'no provider is configured: set a provider key (e.g. OPENAI_API_KEY) or add providers to the config'
        : `configured providers: ${known.join(', ')}; use "<provider>/<model>" or a model alias`;
    throw new ModelNotFoundError(`The model \`${model}\` is not routed by this proxy (${hint})`, { param: 'model' });
  }

  /** Names /v1/models lists: aliases plus one wildcard entry per provider. */
  listModels(): string[] {
    return [...Object.keys(this.aliases), ...[...this.providers.keys()].map((p) => `${p}/*`)];
  }
}

export function checkModelAllowed(model: string, allowed: readonly string[] | null): void {
  if (allowed === null) return;
  for (const a of allowed) {
    if (a === model || (a.endsWith('/*') && model.startsWith(a.slice(0, -1)))) return;
  }
  throw new ModelNotAllowedError(`This key is not allowed to use model \`${model}\``, { param: 'model' });
}
