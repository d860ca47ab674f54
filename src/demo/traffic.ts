// The demo's traffic: a seeded, realistic mix of tagged requests from several apps,
// environments, teams and tenants, a few hundred end users, metadata, streams and errors.
// Pure: the same seed gives the same requests.
import { seededRandom } from './random.ts';

export interface DemoRequest {
  /** Which demo key sends it (its alias). */
  key: string;
  path: '/v1/chat/completions' | '/v1/embeddings' | '/v1/responses' | '/v1/messages';
  headers: Record<string, string>;
  body: Record<string, unknown>;
  stream: boolean;
}

export interface DemoApp {
  alias: string;
  tags: string[];
  /** Share of the traffic, relative to the other apps. */
  weight: number;
  models: string[];
  path: DemoRequest['path'];
  maxTokens: [number, number];
  streamShare: number;
}

/** The apps of the demo company; their keys carry the app and team tags. */
export const DEMO_APPS: readonly DemoApp[] = [
  { alias: 'support-bot', tags: ['app:support-bot', 'team:customer-experience'], weight: 40, models: ['mock/gpt-4o-mini', 'mock/gpt-4.1-mini'], path: '/v1/chat/completions', maxTokens: [80, 400], streamShare: 0.3 },
  { alias: 'search-assistant', tags: ['app:search-assistant', 'team:search'], weight: 25, models: ['mock/gemini-2.5-flash', 'mock/gpt-5-mini'], path: '/v1/chat/completions', maxTokens: [60, 300], streamShare: 0.5 },
  { alias: 'doc-summarizer', tags: ['app:doc-summarizer', 'team:knowledge'], weight: 15, models: ['mock/claude-sonnet-4-5', 'mock/gpt-4.1'], path: '/v1/responses', maxTokens: [200, 900], streamShare: 0.2 },
  { alias: 'semantic-index', tags: ['app:semantic-index', 'team:search'], weight: 12, models: ['mock/text-embedding-3-small'], path: '/v1/embeddings', maxTokens: [0, 0], streamShare: 0 },
  { alias: 'campaign-writer', tags: ['app:campaign-writer', 'team:marketing'], weight: 8, models: ['mock/gpt-5', 'mock/claude-opus-4-1'], path: '/v1/chat/completions', maxTokens: [500, 1500], streamShare: 0.4 },
  // Claude Code users: Anthropic's Messages API, a cached system prompt, a session per task.
  { alias: 'coding-agent', tags: ['app:claude-code', 'team:platform'], weight: 10, models: ['mock/claude-opus-5-5', 'mock/claude-sonnet-5-5'], path: '/v1/messages', maxTokens: [200, 800], streamShare: 0.8 },
];

/** The tag the demo gives a small daily budget, so the proxy blocks it during the run. */
export const DEMO_BUDGET_TAG = 'app:campaign-writer';

const TENANTS = ['tenant:acme', 'tenant:globex', 'tenant:initech', 'tenant:umbrella', 'tenant:hooli'];
const PROJECTS = ['q4-sales-analysis', 'onboarding-revamp', 'churn-study', 'holiday-campaign'];
const FEATURES = ['chat', 'autocomplete', 'summary', 'search', 'draft'];
const WORDS = 'order invoice refund shipping account password upgrade plan report quarterly revenue forecast customer ticket policy'.split(' ');
/** The coding agent's system prompt: long and the same every time, so the provider caches it. */
const CODING_SYSTEM = `You are a coding agent working in the company's monorepo. ${'Follow the repository conventions, run the tests, explain each change. '.repeat(60)}`;

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

function pickApp(rand: () => number): DemoApp {
  const total = DEMO_APPS.reduce((n, a) => n + a.weight, 0);
  let r = rand() * total;
  for (const app of DEMO_APPS) {
    r -= app.weight;
    if (r < 0) return app;
  }
  return DEMO_APPS[0]!;
}

function sentence(rand: () => number, words: number): string {
  return Array.from({ length: words }, () => pick(rand, WORDS)).join(' ');
}

export function demoTraffic(count: number, seed = 42, users = 300): DemoRequest[] {
  const rand = seededRandom(seed);
  const out: DemoRequest[] = [];
  for (let i = 0; i < count; i++) {
    const app = pickApp(rand);
    const env = rand() < 0.85 ? 'env:production' : 'env:staging';
    const tenant = pick(rand, TENANTS);
    const user = `user_${String(Math.floor(rand() * users)).padStart(4, '0')}`;
    // A few requests fail upstream, as real providers do.
    const failing = rand() < 0.02;
    const model = failing ? `mock/error-${rand() < 0.5 ? 429 : 500}` : pick(rand, app.models);
    const maxTokens = Math.round(app.maxTokens[0] + rand() * (app.maxTokens[1] - app.maxTokens[0]));
    const stream = rand() < app.streamShare;
    const metadata = { project: pick(rand, PROJECTS), feature: pick(rand, FEATURES) };
    const text = sentence(rand, 20 + Math.floor(rand() * 200));
    // Attribution arrives every way LiteLLM clients send it: header tags, body tags, metadata.
    const headers: Record<string, string> = { 'x-litellm-tags': `${env},${tenant}` };
    let body: Record<string, unknown>;
    if (app.path === '/v1/messages') {
      // As Claude Code sends it: the session in a header and in metadata.user_id's JSON.
      const session = `session-${user}-${Math.floor(rand() * 3)}`;
      body = {
        model,
        max_tokens: maxTokens,
        stream,
        system: [{ type: 'text', text: CODING_SYSTEM, cache_control: { type: 'ephemeral' } }],
        messages: [{ role: 'user', content: text }],
        metadata: { user_id: JSON.stringify({ device_id: `device-${user}`, account_uuid: user, session_id: session }) },
      };
      headers['x-claude-code-session-id'] = session;
    } else if (app.path === '/v1/embeddings') {
      body = { model, input: text, user, metadata: { spend_logs_metadata: metadata } };
    } else if (app.path === '/v1/responses') {
      body = { model, input: text, max_output_tokens: maxTokens, user, stream, metadata: { tags: [tenant] } };
      headers['x-litellm-spend-logs-metadata'] = JSON.stringify(metadata);
    } else {
      body = {
        model,
        messages: [
          { role: 'system', content: `You are the ${app.alias} of a mid-size company.` },
          { role: 'user', content: text },
        ],
        max_tokens: maxTokens,
        user,
        stream,
        metadata: { tags: [tenant], spend_logs_metadata: metadata },
      };
    }
    out.push({ key: app.alias, path: app.path, headers, body, stream });
  }
  return out;
}
