// How the last runs of each job ended, outside the DuckDB file: monitoring must see a failed run
// even though a failed run publishes no snapshot, and must not need a DuckDB client. After every
// run the runner rewrites two small files atomically (temp + rename) beside each other:
//   jobs-status.json  per job: the last run, the last success, failures in a row
//   jobs-status.prom  the same as Prometheus text, for node_exporter's textfile collector
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { RunSummary } from './runner.ts';

export interface JobStatus {
  last_run: {
    run_id: number;
    status: RunSummary['status'];
    started_at: string;
    ended_at: string;
    duration_seconds: number;
    objects: number;
    rows: number;
    rejected: number;
    /** Budget definitions (tags, customers) the budgets step skipped (see the run's error log lines). */
    invalid_definitions: number;
    /** Absent in files written before it existed. */
    invalid_bills?: number;
    error: string | null;
  };
  last_success_at: string | null;
  consecutive_failures: number;
  runs: number;
  failures: number;
}

export type JobsStatus = Record<string, JobStatus>;

export function promFileOf(statusFile: string): string {
  return statusFile.replace(/\.json$/, '') + '.prom';
}

/** The statuses after `run`, from the previous ones (pure). */
export function nextStatus(previous: JobsStatus, run: RunSummary, endedAt: Date): JobsStatus {
  const before = previous[run.job];
  const startedAt = new Date(endedAt.getTime() - run.durationMs);
  const failed = run.status === 'failed';
  return {
    ...previous,
    [run.job]: {
      last_run: {
        run_id: run.runId,
        status: run.status,
        started_at: startedAt.toISOString(),
        ended_at: endedAt.toISOString(),
        duration_seconds: Math.round(run.durationMs) / 1000,
        objects: run.objects,
        rows: run.rows,
        rejected: run.rejected,
        invalid_definitions: run.invalidDefinitions,
        invalid_bills: run.invalidBills,
        error: run.error,
      },
      last_success_at: run.status === 'success' ? endedAt.toISOString() : (before?.last_success_at ?? null),
      consecutive_failures: failed ? (before?.consecutive_failures ?? 0) + 1 : 0,
      runs: (before?.runs ?? 0) + 1,
      failures: (before?.failures ?? 0) + (failed ? 1 : 0),
    },
  };
}

const seconds = (iso: string): string => String(Date.parse(iso) / 1000);

/** Prometheus text exposition of the statuses. */
export function toPrometheus(status: JobsStatus): string {
  const metrics: [name: string, type: 'gauge' | 'counter', help: string, value: (s: JobStatus) => string | null][] = [
    ['tagspend_job_last_run_timestamp_seconds', 'gauge', 'When the last run of the job ended', (s) => seconds(s.last_run.ended_at)],
    ['tagspend_job_last_run_success', 'gauge', '1 if the last run succeeded, 0 if it failed or was interrupted', (s) => (s.last_run.status === 'success' ? '1' : '0')],
    ['tagspend_job_last_run_duration_seconds', 'gauge', 'Duration of the last run', (s) => String(s.last_run.duration_seconds)],
    ['tagspend_job_last_run_rows', 'gauge', 'Rows loaded by the last run', (s) => String(s.last_run.rows)],
    ['tagspend_job_last_run_rejected_lines', 'gauge', 'Lines rejected by the last run', (s) => String(s.last_run.rejected)],
    ['tagspend_job_last_run_invalid_definitions', 'gauge', 'Budget definitions the last run skipped as unreadable or unusable', (s) => String(s.last_run.invalid_definitions ?? 0)],
    ['tagspend_job_last_run_invalid_bills', 'gauge', 'Bill objects in the store the last run skipped as not bill days', (s) => String(s.last_run.invalid_bills ?? 0)],
    ['tagspend_job_last_success_timestamp_seconds', 'gauge', 'When the last successful run ended', (s) => (s.last_success_at ? seconds(s.last_success_at) : null)],
    ['tagspend_job_consecutive_failures', 'gauge', 'Failed runs in a row', (s) => String(s.consecutive_failures)],
    ['tagspend_job_runs_total', 'counter', 'Runs recorded in this status file', (s) => String(s.runs)],
    ['tagspend_job_failures_total', 'counter', 'Failed runs recorded in this status file', (s) => String(s.failures)],
  ];
  const jobs = Object.keys(status).sort();
  const lines: string[] = [];
  for (const [name, type, help, value] of metrics) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const job of jobs) {
      const v = value(status[job]!);
      if (v !== null) lines.push(`${name}{job="${job}"} ${v}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The statuses on file; {} when there is none yet (or it is unreadable). */
export async function readStatus(file: string): Promise<JobsStatus> {
  try {
    return parseStatus(await readFile(file, 'utf8'));
  } catch {
    return {}; // missing or unreadable: start over rather than fail the run that just ended
  }
}

/** The statuses in a status file's text; {} when it is not a statuses object. */
export function parseStatus(text: string): JobsStatus {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as JobsStatus) : {};
  } catch {
    return {};
  }
}

async function replace(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** Records a finished run in the status files. Called while the run still holds the DuckDB file. */
export async function recordRunStatus(statusFile: string, run: RunSummary, endedAt: Date): Promise<JobsStatus> {
  const status = nextStatus(await readStatus(statusFile), run, endedAt);
  await replace(statusFile, `${JSON.stringify(status, null, 2)}\n`);
  await replace(promFileOf(statusFile), toPrometheus(status));
  return status;
}

/**
 * What a monitoring check should complain about: a job whose last run failed, and, with
 * `maxAgeSeconds`, a reconcile without a success that recent (or none at all).
 */
export function statusProblems(status: JobsStatus, nowMs: number, maxAgeSeconds?: number): string[] {
  const problems: string[] = [];
  for (const job of Object.keys(status).sort()) {
    const s = status[job]!;
    if (s.last_run.status === 'failed') {
      problems.push(`${job}: last run #${s.last_run.run_id} failed (${s.consecutive_failures} in a row): ${s.last_run.error ?? 'no message'}`);
    }
  }
  if (maxAgeSeconds !== undefined) {
    const last = status.reconcile?.last_success_at;
    if (!last) problems.push('reconcile: no successful run recorded');
    else {
      const age = (nowMs - Date.parse(last)) / 1000;
      if (age > maxAgeSeconds) problems.push(`reconcile: last success ${Math.round(age)} s ago (${last}), over ${maxAgeSeconds} s`);
    }
  }
  return problems;
}
