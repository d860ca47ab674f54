// The daily report the scheduler writes after the nightly full reconcile: one file per
// configured dimension and format, for one day, under <report_dir>/<day>/.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobContext } from '../run/context.ts';
import { addDays, localDate } from '../../src/report/calendar.ts';
import { dimensionLabel, parseDimension } from '../../src/report/dimensions.ts';
import { buildReport, renderReport } from '../../src/report/query.ts';

/** Yesterday in the configured timezone: the last complete day. */
export function defaultReportDay(now: Date, timezone: string): string {
  return addDays(localDate(now, timezone), -1);
}

export async function writeDailyReport(ctx: JobContext, day: string): Promise<string[]> {
  const { settings } = ctx;
  const dir = join(settings.reportDir, day);
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const by of settings.dailyReport.by) {
    const dimension = parseDimension(by);
    const report = await buildReport(ctx.db.conn, { from: day, to: day, by: dimension }, settings.timezone);
    for (const format of settings.dailyReport.formats) {
      const file = join(dir, `spend-by-${dimensionLabel(dimension)}.${format}`);
      const tmp = `${file}.tmp`;
      await writeFile(tmp, renderReport(report, format));
      await rename(tmp, file);
      files.push(file);
    }
  }
  return files;
}
