// Which provider serves a model: `provider/model`, a configured alias, or the default
// provider for a bare model name. Anthropic's Messages API goes only to providers that speak it
// (anthropic_native), bare Claude ids to the Anthropic-native provider. Resolved routes are
// cached (a few hundred distinct model names at most), so the hot path does one Map lookup.
import type { ResolvedConfig, ResolvedProvider } from '../config/load.ts';
import { InvalidRequestError, ModelNotAllowedError, ModelNotFoundError } from '../errors.ts';

export interface Route {
  provider: ResolvedProvider;
  /** The model id sent upstream (without the provider prefix). */
  upstreamModel: string;
}

/** No provider names a model in more characters; longer strings are refused before routing. */
export const MAX_MODEL_LENGTH = 1024;

export class Router {
  private readonly providers: ReadonlyMap<string, ResolvedProvider>;
  /** A Map: model names are chosen by clients (`constructor` is a model name, not a prototype member). */
  private readonly aliases: ReadonlyMap<string, string>;
  private readonly defaultProvider: ResolvedProvider | null;
  /** Where bare model ids of the Messages API go: the default provider, `anthropic`, or the only native one. */
  private readonly messagesProvider: ResolvedProvider | null;
  private readonly cache = new Map<string, Route>();
  private readonly messagesCache = new Map<string, Route>();

  constructor(resolved: ResolvedConfig) {
    this.providers = resolved.providers;
    this.aliases = new Map(Object.entries(resolved.config.model_aliases));
    const d = resolved.config.default_provider;
    this.defaultProvider = d ? (resolved.providers.get(d) ?? null) : null;
    const native = [...resolved.providers.values()].filter((p) => p.anthropicNative);
    this.messagesProvider =
      (this.defaultProvider?.anthropicNative ? this.defaultProvider : null) ??
      native.find((p) => p.name === 'anthropic') ??
      (native.length === 1 ? native[0]! : null);
  }

  route(model: unknown): Route {
    return this.cached(this.cache, model, (m) => this.resolve(m));
  }

  /** A model of Anthropic's Messages API: only a provider that speaks it can serve it. */
  routeMessages(model: unknown): Route {
    return this.cached(this.messagesCache, model, (m) => this.resolveMessages(m));
  }

  private cached(cache: Map<string, Route>, model: unknown, resolve: (model: string) => Route): Route {
    if (typeof model !== 'string' || model.length === 0) {
      throw new InvalidRequestError('model is required and must be a string', { param: 'model' });
    }
    const hit = cache.get(model);
    if (hit) return hit;
    if (model.length > MAX_MODEL_LENGTH || !model.isWellFormed()) {
      throw new InvalidRequestError(`model must be at most ${MAX_MODEL_LENGTH} characters of valid UTF-16 (no lone surrogates)`, { param: 'model' });
    }
    const route = resolve(model);
    if (cache.size < 10_000) cache.set(model, route);
    return route;
  }

  private resolveMessages(model: string): Route {
    const target = this.aliases.get(model) ?? model;
    const slash = target.indexOf('/');
    const named = slash > 0 ? this.providers.get(target.slice(0, slash)) : undefined;
    if (named) {
      if (named.anthropicNative) return { provider: named, upstreamModel: target.slice(slash + 1) };
      throw new ModelNotFoundError(
        `The model \`${model}\` routes to provider "${named.name}", which does not serve Anthropic's Messages API (set anthropic_native: true on a provider that does)`,
        { param: 'model' },
      );
    }
    if (this.messagesProvider) return { provider: this.messagesProvider, upstreamModel: target };
    throw new ModelNotFoundError(
      `The model \`${model}\` is not routed by this proxy: no provider serves Anthropic's Messages API (set ANTHROPIC_API_KEY, or anthropic_native: true on a configured provider)`,
      { param: 'model' },
    );
  }

  private resolve(model: string): Route {
    const target = this.aliases.get(model) ?? model;
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
    return [...this.aliases.keys(), ...[...this.providers.keys()].map((p) => `${p}/*`)];
  }
}

export function checkModelAllowed(model: string, allowed: readonly string[] | null): void {
  if (allowed === null) return;
  for (const a of allowed) {
    if (a === model || (a.endsWith('/*') && model.startsWith(a.slice(0, -1)))) return;
  }
  throw new ModelNotAllowedError(`This key is not allowed to use model \`${model}\``, { param: 'model' });
}
