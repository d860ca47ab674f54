// Bill pages in the shapes the providers' references document (OpenAI's organization Costs API,
// Anthropic's Admin cost report), pretty-printed as the APIs and `curl | jq` would save them.

export interface OpenAIResult {
  usd: number | string;
  line_item?: string | null;
  project_id?: string | null;
  currency?: string;
}

export interface AnthropicResult {
  /** Cents, as a decimal string: "123.45" is $1.2345. */
  cents: string;
  model?: string | null;
  description?: string | null;
  token_type?: string | null;
  workspace_id?: string | null;
  cost_type?: string | null;
}

const dayStart = (day: string): number => Date.parse(`${day}T00:00:00Z`);

export function openaiPage(buckets: { day: string; results: OpenAIResult[] }[], nextPage: string | null = null): object {
  return {
    object: 'page',
    data: buckets.map((b) => ({
      object: 'bucket',
      start_time: dayStart(b.day) / 1000,
      end_time: dayStart(b.day) / 1000 + 86_400,
      results: b.results.map((r) => ({
        object: 'organization.costs.result',
        amount: { value: r.usd, currency: r.currency ?? 'usd' },
        line_item: r.line_item ?? null,
        project_id: r.project_id ?? null,
      })),
    })),
    has_more: nextPage !== null,
    next_page: nextPage,
  };
}

export function anthropicPage(buckets: { day: string; results: AnthropicResult[] }[], nextPage: string | null = null): object {
  return {
    data: buckets.map((b) => ({
      starting_at: new Date(dayStart(b.day)).toISOString().replace('.000Z', 'Z'),
      ending_at: new Date(dayStart(b.day) + 86_400_000).toISOString().replace('.000Z', 'Z'),
      results: b.results.map((r) => ({
        currency: 'USD',
        amount: r.cents,
        workspace_id: r.workspace_id ?? null,
        description: r.description ?? null,
        cost_type: r.cost_type ?? (r.model ? 'tokens' : null),
        context_window: r.model ? '0-200k' : null,
        model: r.model ?? null,
        service_tier: r.model ? 'standard' : null,
        token_type: r.token_type ?? null,
      })),
    })),
    has_more: nextPage !== null,
    next_page: nextPage,
  };
}

export const pretty = (page: object): string => `${JSON.stringify(page, null, 2)}\n`;
