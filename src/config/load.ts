// Config is read once at start: defaults < YAML/JSON file < TAGSPEND_* environment < flags.
// Everything wrong is collected and reported together, then the result is frozen.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.ts';
import { PROVIDER_PRESETS } from '../providers/presets.ts';
import { configSchema, type Config } from './schema.ts';
import { dataPaths, type DataPaths } from './paths.ts';

export interface ResolvedProvider {
  name: string;
  baseUrl: string;
  apiKey: string | null;
  headers: Readonly<Record<string, string>>;
  /** Serves Anthropic's Messages API (`/v1/messages`) below its base URL. */
  anthropicNative: boolean;
}

export interface ResolvedKey {
  key: string;
  alias: string;
  tags: readonly string[];
  metadata: Readonly<Record<string, string>>;
  allowedModels: readonly string[] | null;
  requiredTagPrefixes: readonly string[];
  /** May read spend (`tagspend serve`), not call models or change tags. */
  viewer: boolean;
  /** Tag globs a request with this key may carry (its own tags always); null = any tag. */
  allowedTags: readonly string[] | null;
  /** May manage (/tag/*) the tags its allowedTags match. */
  manageTags: boolean;
  /** The key's own budget, or null. */
  budget: KeyBudget | null;
}

export interface KeyBudget {
  readonly maxBudget: number | null;
  readonly duration: string;
  readonly softBudget: number | null;
}

/** The validated config plus everything derived from it at start (secrets read from env, presets applied). */
export interface ResolvedConfig {
  readonly config: Config;
  readonly dataDir: string;
  /** Every path under data_dir (src/config/paths.ts). */
  readonly paths: DataPaths;
  readonly storeUrl: string;
  readonly instanceBase: string;
  readonly providers: ReadonlyMap<string, ResolvedProvider>;
  readonly keys: readonly ResolvedKey[];
  readonly masterKey: string | null;
  readonly userIdSalt: string | null;
}

export interface LoadOptions {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Values from command-line flags, in config shape; highest precedence. */
  overrides?: Record<string, unknown>;
  cwd?: string;
}

const ENV_PREFIX = 'TAGSPEND_';
/** TAGSPEND_* variables that are not config paths (TAGSPEND_URL: the proxy `tagspend tags` calls). */
const ENV_RESERVED = new Set(['TAGSPEND_CONFIG', 'TAGSPEND_URL']);

type Tree = Record<string, unknown>;

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const prev = out[k];
    out[k] = isTree(prev) && isTree(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

function setPath(tree: Tree, path: string[], value: unknown): void {
  let node = tree;
  for (const part of path.slice(0, -1)) {
    if (!isTree(node[part])) node[part] = {};
    node = node[part] as Tree;
  }
  node[path[path.length - 1]!] = value;
}

/** Env values are strings; numbers, booleans and JSON arrays/objects are recognised. */
function parseEnvValue(raw: string): unknown {
  const s = raw.trim();
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  if (s.startsWith('[') || s.startsWith('{')) {
    try {
      return JSON.parse(s);
    } catch {
      return raw;
    }
  }
  return raw;
}

/**
 * `TAGSPEND_PORT=4001` sets `port`; a double underscore nests:
 * `TAGSPEND_SPEND_LOG__SEGMENT_MAX_AGE_SECONDS=10` sets `spend_log.segment_max_age_seconds`.
 */
export function envToTree(env: NodeJS.ProcessEnv): { tree: Tree; raw: Map<string, string> } {
  const tree: Tree = {};
  const raw = new Map<string, string>();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined || ENV_RESERVED.has(name)) continue;
    const path = name.slice(ENV_PREFIX.length).toLowerCase().split('__');
    setPath(tree, path, parseEnvValue(value));
    raw.set(path.join('.'), value);
  }
  return { tree, raw };
}

function readConfigFile(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read config file ${file}: ${(err as Error).message}`]);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new ConfigError([`config file ${file} is not valid YAML/JSON: ${(err as Error).message}`]);
  }
  if (parsed == null) return {};
  if (!isTree(parsed)) throw new ConfigError([`config file ${file} must contain a mapping at the top level`]);
  return parsed;
}

/** `crossCheck` runs the checks that need a schema-valid config (see laterProblems). */
function validate(input: Tree, envRaw: Map<string, string>, crossCheck: (config: Config) => void): Config {
  let result = configSchema.safeParse(input);
  // A value that came from the environment and looked numeric may be meant as a string
  // (a numeric master key, say): give it back as written and try again.
  if (!result.success) {
    let retried = false;
    for (const issue of result.error.issues) {
      const path = issue.path.map(String);
      const raw = envRaw.get(path.join('.'));
      if (raw !== undefined && issue.code === 'invalid_type' && issue.expected === 'string') {
        setPath(input, path, raw);
        retried = true;
      }
    }
    if (retried) result = configSchema.safeParse(input);
  }
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new ConfigError([...problems, ...laterProblems(input, result.error.issues, problems, crossCheck)]);
  }
  return result.data;
}

/**
 * The cross-checks (environment variables, time zone, ...) normally run once the schema is
 * satisfied. So that one start lists every problem, they also run on a copy of the input with
 * the invalid settings removed (defaults in their place); problems about the same settings are
 * not repeated.
 */
function laterProblems(
  input: Tree,
  issues: readonly { path: PropertyKey[]; code: string; keys?: string[] }[],
  already: string[],
  crossCheck: (config: Config) => void,
): string[] {
  const repaired = structuredClone(input);
  const bad: string[] = [];
  for (const issue of issues) {
    const path = issue.path.map(String);
    const targets = issue.code === 'unrecognized_keys' && issue.keys ? issue.keys.map((k) => [...path, k]) : [path];
    for (const t of targets) {
      deletePath(repaired, t);
      bad.push(t.join('.'));
    }
  }
  const second = configSchema.safeParse(repaired);
  if (!second.success) return [];
  try {
    crossCheck(second.data);
  } catch (err) {
    if (err instanceof ConfigError) {
      // A problem about a reported setting, inside it, or about the list entry holding it, is a repeat.
      const repeats = (problem: string) => {
        const at = problem.slice(0, problem.indexOf(':'));
        return bad.some((b) => at === b || at.startsWith(`${b}.`) || (at.includes('.') && b.startsWith(`${at}.`)));
      };
      return err.problems.filter((p) => !repeats(p) && !already.includes(p));
    }
  }
  return [];
}

function deletePath(tree: Tree, path: string[]): void {
  let node: unknown = tree;
  for (const part of path.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) return;
    node = (node as Tree)[part];
  }
  if (typeof node === 'object' && node !== null && path.length > 0) delete (node as Tree)[path[path.length - 1]!];
}

function resolveConfig(config: Config, env: NodeJS.ProcessEnv, cwd: string): ResolvedConfig {
  const problems: string[] = [];
  const dataDir = resolve(cwd, config.data_dir);

  const providers = new Map<string, ResolvedProvider>();
  // Presets whose key is in the environment are usable without a config entry.
  for (const [name, preset] of Object.entries(PROVIDER_PRESETS)) {
    const apiKey = env[preset.apiKeyEnv];
    if (apiKey) providers.set(name, { name, baseUrl: preset.baseUrl, apiKey, headers: {}, anthropicNative: preset.anthropicNative === true });
  }
  for (const [name, p] of Object.entries(config.providers)) {
    const preset = PROVIDER_PRESETS[p.preset ?? name];
    if (p.preset && !preset) problems.push(`providers.${name}.preset: unknown preset "${p.preset}"`);
    const baseUrl = p.base_url ?? preset?.baseUrl;
    if (!baseUrl) {
      problems.push(`providers.${name}.base_url: required (no preset named "${p.preset ?? name}")`);
      continue;
    }
    const keyEnv = p.api_key_env ?? preset?.apiKeyEnv;
    let apiKey = p.api_key ?? null;
    if (!apiKey && p.api_key_env) {
      apiKey = env[p.api_key_env] ?? null;
      if (!apiKey) problems.push(`providers.${name}.api_key_env: environment variable ${p.api_key_env} is not set`);
    } else if (!apiKey && keyEnv) {
      apiKey = env[keyEnv] ?? null;
    }
    const anthropicNative = p.anthropic_native ?? preset?.anthropicNative === true;
    providers.set(name, { name, baseUrl: baseUrl.replace(/\/+$/, ''), apiKey, headers: p.headers, anthropicNative });
  }
  if (config.default_provider && !providers.has(config.default_provider)) {
    problems.push(`default_provider: "${config.default_provider}" is not a configured provider`);
  }
  for (const [alias, target] of Object.entries(config.model_aliases)) {
    const provider = target.slice(0, target.indexOf('/'));
    if (!providers.has(provider)) problems.push(`model_aliases.${alias}: provider "${provider}" is not configured`);
  }

  const keys: ResolvedKey[] = [];
  const seen = new Set<string>();
  config.keys.forEach((k, i) => {
    let key = k.key;
    if (!key && k.key_env) {
      key = env[k.key_env];
      if (!key) problems.push(`keys.${i}.key_env: environment variable ${k.key_env} is not set`);
    } else if (!key) {
      problems.push(`keys.${i}: one of key or key_env is required`);
    }
    if (seen.has(k.alias)) problems.push(`keys.${i}.alias: duplicate alias "${k.alias}"`);
    seen.add(k.alias);
    if ((k.max_budget !== undefined || k.soft_budget !== undefined) && k.budget_duration === undefined) {
      problems.push(`keys.${i}.budget_duration: required with max_budget or soft_budget`);
    }
    if (k.budget_duration !== undefined && k.max_budget === undefined && k.soft_budget === undefined) {
      problems.push(`keys.${i}.budget_duration: needs max_budget or soft_budget`);
    }
    if (k.manage_tags && k.allowed_tags === undefined) {
      problems.push(`keys.${i}.manage_tags: needs allowed_tags (the tags the key may manage)`);
    }
    if (key) {
      keys.push({
        key,
        alias: k.alias,
        tags: k.tags,
        metadata: k.metadata,
        allowedModels: k.allowed_models ?? null,
        requiredTagPrefixes: k.required_tag_prefixes,
        viewer: k.viewer,
        allowedTags: k.allowed_tags ?? null,
        manageTags: k.manage_tags,
        budget:
          k.budget_duration === undefined
            ? null
            : { maxBudget: k.max_budget ?? null, duration: k.budget_duration, softBudget: k.soft_budget ?? null },
      });
    }
  });
  if (config.master_key && keys.some((k) => k.key === config.master_key)) {
    problems.push('keys: a proxy key must not equal the master key');
  }

  const userIdSalt = config.privacy.user_id_salt ?? null;
  if (config.privacy.hash_user_ids && !userIdSalt) {
    problems.push('privacy.user_id_salt: required when privacy.hash_user_ids is true (at least 16 characters)');
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: config.timezone });
  } catch {
    problems.push(`timezone: unknown time zone "${config.timezone}"`);
  }

  const paths = dataPaths(dataDir, config.jobs);
  const storeUrl = config.store.url ?? pathToFileURL(paths.localStore).href;
  if (!/^(file|s3):\/\//.test(storeUrl)) problems.push(`store.url: must start with file:// or s3:// (got "${storeUrl}")`);

  if (problems.length > 0) throw new ConfigError(problems);

  const instanceBase = config.instance_id ?? hostname().replace(/[^A-Za-z0-9_.]/g, '_');
  return deepFreeze({
    config,
    dataDir,
    paths,
    storeUrl,
    instanceBase,
    providers,
    keys,
    masterKey: config.master_key ?? null,
    userIdSalt,
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value) && !(value instanceof Map)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export function loadConfig(options: LoadOptions = {}): ResolvedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = options.file ?? env.TAGSPEND_CONFIG;
  const fromFile = file ? readConfigFile(resolve(cwd, file)) : {};
  const { tree: fromEnv, raw } = envToTree(env);
  const merged = deepMerge(deepMerge(fromFile, fromEnv), options.overrides ?? {});
  const crossCheck = (config: Config) => void resolveConfig(config, env, cwd);
  return resolveConfig(validate(merged, raw, crossCheck), env, cwd);
}
