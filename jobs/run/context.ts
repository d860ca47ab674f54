// What every job gets: the open DuckDB file, the store, settings, a logger, the clock.
import type { Db } from '../../src/db/open.ts';
import type { Logger } from '../../src/log.ts';
import type { ObjectStore } from '../../src/store/types.ts';
import type { Progress } from './progress.ts';
import type { JobSettings } from './settings.ts';

export interface JobContext {
  readonly db: Db;
  readonly store: ObjectStore;
  readonly settings: JobSettings;
  readonly log: Logger;
  readonly now: () => Date;
  /** The job_runs row this work is recorded under. */
  readonly runId: number;
  readonly progress: Progress;
  /** Set when the process is asked to stop: jobs end at their next safe point. */
  readonly signal?: AbortSignal;
}

/** What a run changed and found, summed over the jobs it ran (one job_runs row). */
export interface RunCounts {
  objects: number;
  rows: number;
  duplicates: number;
  rejected: number;
  repriced: number;
  days: number;
  /** Bill lines imported plus requests whose allocated share of a bill changed (true-up). */
  billed: number;
  /** Budget definitions the budgets step skipped (unreadable or unusable; each logged). Not in job_runs. */
  invalidDefinitions: number;
  /** Bill objects in the store that are not bill days, skipped (each logged). Not in job_runs. */
  invalidBills: number;
}

export function zeroCounts(): RunCounts {
  return { objects: 0, rows: 0, duplicates: 0, rejected: 0, repriced: 0, days: 0, billed: 0, invalidDefinitions: 0, invalidBills: 0 };
}
