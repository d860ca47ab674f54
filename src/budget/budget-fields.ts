// The budget fields every budgeted subject's definition shares (tags, customers), validated the
// same way at every admin endpoint: one message per rule, naming the bound.
import { z } from 'zod';
import { isValidDuration, isWithinMaxDuration } from './window.ts';

/**
 * The largest budget (USD): far above any real budget, and a number the budgets job can bind
 * and store exactly (1e19 overflowed its int64 binding and stopped every reconcile).
 */
export const MAX_BUDGET_USD = 1e12;

export const money = z
  .number({ error: 'must be a number' })
  .finite('must be finite')
  .min(0, 'must be >= 0')
  .max(MAX_BUDGET_USD, `must be at most ${MAX_BUDGET_USD} (USD)`);

export const budgetDuration = z
  .string({ error: 'must be a string' })
  .refine(isValidDuration, 'must look like 30s, 10m, 12h, 1d, 7d, 1w, 1mo')
  .refine(isWithinMaxDuration, 'must be at most 100 years (1200mo, 5217w, 36525d)');
