// The jobs a run can be asked for (the CLI lists them without loading the runner).
export const JOB_NAMES = ['ingest', 'reprice', 'trueup', 'rollup', 'budgets', 'parquet', 'reconcile', 'report'] as const;
export type JobName = (typeof JOB_NAMES)[number];
