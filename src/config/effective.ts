// The effective configuration as an operator checks it before a deploy: every setting after
// defaults, file, environment and flags, with secrets shown only as where they come from.
import type { ResolvedConfig } from './load.ts';

export const MASKED = '[set]';

const SECRET_HEADER = /auth|key|token|secret|cookie/i;

function maskHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, SECRET_HEADER.test(k) ? MASKED : v]));
}

/** A copy of the config tree with every secret replaced by [set] (or left null when unset). */
export function effectiveConfig(resolved: ResolvedConfig): Record<string, unknown> {
  const c = resolved.config;
  const mask = (v: unknown): unknown => (v === undefined || v === null ? null : MASKED);
  return {
    ...c,
    instance_id: resolved.instanceBase,
    master_key: resolved.masterKey ? MASKED : null,
    store: { ...c.store, url: resolved.storeUrl },
    data_dir: resolved.dataDir,
    providers: Object.fromEntries(
      [...resolved.providers.values()].map((p) => [
        p.name,
        { base_url: p.baseUrl, api_key: p.apiKey ? MASKED : null, headers: maskHeaders(p.headers) },
      ]),
    ),
    keys: resolved.keys.map((k) => ({
      alias: k.alias,
      key: MASKED,
      tags: k.tags,
      metadata: k.metadata,
      allowed_models: k.allowedModels,
      required_tag_prefixes: k.requiredTagPrefixes,
      allowed_tags: k.allowedTags,
      manage_tags: k.manageTags,
      max_budget: k.budget?.maxBudget ?? null,
      budget_duration: k.budget?.duration ?? null,
      soft_budget: k.budget?.softBudget ?? null,
    })),
    privacy: { ...c.privacy, user_id_salt: mask(resolved.userIdSalt) },
    alerts: { ...c.alerts, webhook_url: mask(c.alerts.webhook_url) },
  };
}
