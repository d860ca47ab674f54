// One entry point for every bill format: the files of one import are parsed together, so a line
// repeated across two files is caught as well, and any problem rejects the whole import.
import { findRepeatedLines, type BillLine, type BillProblem, type BillSource } from './bill.ts';
import { parseAnthropicCostReport } from './anthropic.ts';
import { parseBillCsv } from './csv.ts';
import { parseOpenAICosts } from './openai.ts';

export interface BillFile {
  /** Shown in problems (the path as given). */
  name: string;
  text: string;
}

export interface ParsedImport {
  lines: BillLine[];
  problems: BillProblem[];
  /** Day buckets (or CSV dates) read, over all files. */
  days: number;
}

const PARSERS = {
  openai: parseOpenAICosts,
  anthropic: parseAnthropicCostReport,
  csv: parseBillCsv,
} as const satisfies Record<BillSource, unknown>;

export function parseBillFiles(source: BillSource, files: readonly BillFile[]): ParsedImport {
  const lines: BillLine[] = [];
  const problems: BillProblem[] = [];
  let days = 0;
  for (const f of files) {
    const parsed = PARSERS[source](f.text, f.name);
    lines.push(...parsed.lines);
    problems.push(...parsed.problems);
    days += parsed.days;
  }
  problems.push(...findRepeatedLines(lines));
  return { lines, problems, days };
}
