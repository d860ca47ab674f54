// What differs between the two API families the one request pipeline (llm.ts) serves: the error
// shape clients expect, how usage reads, how a stream is tapped, where a model routes and how
// the provider's key is sent. Everything else (auth, attribution, budgets, the record) is shared.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { normaliseUsage, type UsageNormaliser } from '../providers/usage.ts';
import { sendError } from './http.ts';
import { userId } from './attribution.ts';
import { recordSession, sessionFromHeaders } from './sessions.ts';
import type { Route, Router } from './router.ts';
import { SseUsageTap } from './sse.ts';

export interface Attributed {
  user: string | null;
  metadata: Record<string, string>;
}

export interface ApiDialect {
  /** Answers with this API's error shape; returns the status sent. */
  sendError(res: ServerResponse, err: unknown): number;
  /** A provider's `usage` object in the record's terms. */
  normaliseUsage: UsageNormaliser;
  newTap(hideUsageChunk: boolean): SseUsageTap;
  route(router: Router, model: unknown): Route;
  /** How the provider's key goes upstream. */
  keyHeader: 'authorization' | 'x-api-key';
  /** Headers sent upstream when the client did not send them. */
  defaultHeaders: Readonly<Record<string, string>>;
  /** Attribution this API adds to the common sources (body, headers, key); may change the body. */
  attribute?(body: Record<string, unknown>, headers: IncomingHttpHeaders, attributed: Attributed): void;
  /** Endpoints (below /v1) whose answers cost nothing, recorded at cost 0. */
  free: ReadonlySet<string>;
  /** The client's query string goes upstream too (Anthropic's SDKs add `?beta=true`). */
  forwardQuery: boolean;
}

/**
 * The OpenAI-shaped endpoints' own sources, after the common ones (attribution.ts): the end user
 * from `metadata.user_id`, then `safety_identifier` (OpenAI's successor of `user`), as LiteLLM
 * reads them; the coding session from the headers (sessions.ts). Both fields go upstream as sent.
 */
function attributeOpenAI(body: Record<string, unknown>, headers: IncomingHttpHeaders, attributed: Attributed): void {
  if (attributed.user === null) {
    const meta = body.metadata;
    const metaUser = typeof meta === 'object' && meta !== null && !Array.isArray(meta) ? (meta as Record<string, unknown>).user_id : undefined;
    attributed.user = userId(metaUser, 'metadata.user_id') ?? userId(body.safety_identifier, 'safety_identifier');
  }
  recordSession(attributed, sessionFromHeaders(headers));
}

export const OPENAI_API: ApiDialect = {
  sendError: (res, err) => sendError(res, err),
  normaliseUsage,
  newTap: (hideUsageChunk) => new SseUsageTap({ hideUsageChunk }),
  route: (router, model) => router.route(model),
  keyHeader: 'authorization',
  defaultHeaders: {},
  attribute: attributeOpenAI,
  free: new Set(),
  forwardQuery: false,
};
