// Budget admission for one request, the same for every API endpoint (the OpenAI ones here,
// /v1/messages, ...): the worst-case cost from the body, then the gate's decision and reservation
// (src/budget/gate.ts). The recorder settles the reservation whatever way the request ends.
import type { BudgetGate, Reservation } from '../budget/gate.ts';
import { estimateCost } from '../budget/estimate.ts';
import type { PriceTable } from '../spend/pricing.ts';
import type { Draft } from './recorder.ts';

export interface AdmissionDeps {
  budget: BudgetGate | null;
  prices: PriceTable;
  /** budgets.reservation_output_tokens_cap (0 = none). */
  outputTokensCap: number;
}

/** Endpoints whose answers produce no output tokens. */
const INPUT_ONLY = new Set(['/v1/embeddings', '/v1/messages/count_tokens']);

/**
 * Admits the request (throws BudgetExceededError and friends) and returns its reservation, or
 * null when it touches no budget. Call it once the draft's route, tags, user and key are known.
 */
export function admit(deps: AdmissionDeps, d: Draft, body: Readonly<Record<string, unknown>>, bodyBytes: number): Reservation | null {
  if (!deps.budget || !d.route) return null;
  const model = d.route.upstreamModel;
  const match = deps.prices.lookup(d.route.provider.name, model);
  const estimate = match
    ? estimateCost({ bodyBytes, body, model, price: match.price, producesOutput: !INPUT_ONLY.has(d.endpoint), outputTokensCap: deps.outputTokensCap })
    : null;
  const key = d.principal?.key;
  return deps.budget.admit(
    {
      tags: d.tags,
      customer: d.user,
      key: key ? { alias: key.alias, budget: key.budget } : null,
      estimate,
      model: d.model,
    },
    d.startMs,
  );
}
