// `tagspend jobs schedule`: runs the jobs on their cron schedules (node-cron, in the configured
// timezone), never two at once. A tick that finds a run still going is skipped, logged, and
// recorded in job_runs by the next run (the file is held by the running one). stop() lets the
// current run end at its next safe point and waits for it.
import { EventEmitter } from 'node:events';
import { schedule as cronSchedule, type ScheduledTask } from 'node-cron';
import { DatabaseLockedError } from '../../src/errors.ts';
import type { Logger } from '../../src/log.ts';
import type { RunRequest, RunSummary, SkippedRun } from './runner.ts';

export interface ScheduleEntry {
  name: string;
  cron: string;
  /** Run one after the other as one scheduled unit. */
  runs: readonly Omit<RunRequest, 'trigger' | 'skipped'>[];
}

export interface SchedulerOptions {
  entries: readonly ScheduleEntry[];
  timezone: string;
  /** Performs one run (runJob bound to its dependencies), honouring the signal. */
  run: (req: RunRequest, signal: AbortSignal) => Promise<RunSummary>;
  log: Logger;
  now?: () => Date;
}

/** The default plan: incremental reconcile, and nightly a full reconcile then the daily report. */
export function defaultEntries(schedules: { reconcile: string; full: string }): ScheduleEntry[] {
  return [
    { name: 'reconcile', cron: schedules.reconcile, runs: [{ job: 'reconcile' }] },
    { name: 'full', cron: schedules.full, runs: [{ job: 'reconcile', full: true }, { job: 'report' }] },
  ];
}

export interface SchedulerEvents {
  run: [RunSummary];
  skip: [SkippedRun];
  failure: [Error];
  idle: [];
}

export class Scheduler extends EventEmitter<SchedulerEvents> {
  readonly #options: SchedulerOptions;
  readonly #tasks: ScheduledTask[] = [];
  readonly #pendingSkips: SkippedRun[] = [];
  readonly #abort = new AbortController();
  #current: Promise<void> | null = null;

  constructor(options: SchedulerOptions) {
    super();
    this.#options = options;
  }

  get busy(): boolean {
    return this.#current !== null;
  }

  start(): void {
    for (const entry of this.#options.entries) {
      const task = cronSchedule(entry.cron, () => this.trigger(entry), { name: entry.name, timezone: this.#options.timezone });
      this.#tasks.push(task);
    }
    this.#options.log.info(
      { schedules: this.#options.entries.map((e) => `${e.name}: ${e.cron}`), timezone: this.#options.timezone },
      'scheduler started',
    );
  }

  /** Starts the entry's runs unless a run is going; returns when they end (or at once if skipped). */
  trigger(entry: ScheduleEntry): Promise<void> {
    const now = this.#options.now ?? (() => new Date());
    if (this.#abort.signal.aborted) return Promise.resolve();
    if (this.#current !== null) {
      this.#skip({ job: entry.name, at: now(), reason: 'the previous run was still going' });
      return Promise.resolve();
    }
    const work = this.#runEntry(entry).finally(() => {
      this.#current = null;
      this.emit('idle');
    });
    this.#current = work;
    return work;
  }

  #skip(s: SkippedRun): void {
    this.#pendingSkips.push(s);
    this.#options.log.warn({ job: s.job, reason: s.reason }, 'scheduled run skipped');
    this.emit('skip', s);
  }

  async #runEntry(entry: ScheduleEntry): Promise<void> {
    for (const r of entry.runs) {
      if (this.#abort.signal.aborted) return;
      const skipped = this.#pendingSkips.splice(0);
      try {
        const summary = await this.#options.run({ ...r, trigger: 'schedule', skipped }, this.#abort.signal);
        this.emit('run', summary);
        if (summary.status === 'failed') return;
      } catch (err) {
        this.#pendingSkips.unshift(...skipped);
        if (err instanceof DatabaseLockedError) {
          this.#skip({ job: entry.name, at: (this.#options.now ?? (() => new Date()))(), reason: err.message });
        } else {
          this.#options.log.error({ err, job: r.job }, 'scheduled run could not start');
          this.emit('failure', err as Error);
        }
        return;
      }
    }
  }

  /** Stops the schedules; the current run ends at its next safe point and is awaited. */
  async stop(): Promise<void> {
    for (const t of this.#tasks) await t.destroy();
    this.#tasks.length = 0;
    this.#abort.abort();
    await this.#current;
    this.#options.log.info('scheduler stopped');
  }
}
