// The tag hygiene report (`tagspend report --by hygiene`): the fixes that make an allocation
// trustworthy, each finding with the requests and spend it concerns:
//   not_key_value        tags not in key:value form (no key, or an empty value)
//   near_duplicate       tags that are probably one tag written two ways (sql/report/hygiene_near_duplicates.sql)
//   untagged_share       per tag key, the spend without a value of it: over all traffic and per app
//   undefined_tag        tags used but without a definition in control/tags/ (no budget, no description)
//   new_tag              tags first seen in the last 7 days of the period
//   missing_required_key API keys whose traffic misses a required tag key
// `detail` is prose for people: its amounts and counts are formatted as the dashboard shows them
// ($0.40, 1,234); the exact figures are the finding's own fields.
// Read from the rollups and the period's requests grouped by tag list; definitions from the store.
import type { DuckDBConnection } from '@duckdb/node-api';
import { appendTempRows } from '../db/append.ts';
import { count, selectRows, type Json } from '../db/rows.ts';
import { sql } from '../db/sql.ts';
import type { Config } from '../config/schema.ts';
import { addDays } from './calendar.ts';
import { sharePercent } from './query.ts';
import { escapeHtml } from './render/html.ts';
import { renderTable, toCsv, toMarkdown, trimDecimal, type Table } from './render/format.ts';
import { formatCount, formatUsd } from './render/numbers.ts';

export const HYGIENE_CHECKS = ['not_key_value', 'near_duplicate', 'untagged_share', 'undefined_tag', 'new_tag', 'missing_required_key'] as const;
export type HygieneCheck = (typeof HYGIENE_CHECKS)[number];

/** Each check's heading, in every rendering and on the dashboard's Hygiene page. */
export const HYGIENE_TITLES: Record<HygieneCheck, string> = {
  not_key_value: 'Tags not in key:value form',
  near_duplicate: 'Near-duplicate tags',
  untagged_share: 'Untagged share per tag key (all traffic, and per app)',
  undefined_tag: 'Tags without a definition',
  new_tag: 'Tags first seen in the last 7 days',
  missing_required_key: 'API keys whose traffic misses a required tag key',
};

/** Days a tag counts as new: first seen on the period's last day or the six before. */
export const NEW_TAG_DAYS = 7;

export interface HygieneFinding {
  check: HygieneCheck;
  /** The tag, tag key or API key the finding is about. */
  subject: string;
  detail: string;
  requests: Json;
  spend_usd: Json;
  /** Percent of the scope's spend (untagged and missing-key findings), else ''. */
  share: string;
}

export interface HygieneOptions {
  /** Names of the tag definitions in the store; null when they could not be read. */
  definitions: ReadonlySet<string> | null;
  /** Tag keys required of every API key's traffic (hygiene.required_tag_keys). */
  requiredKeys: readonly string[];
  /** Tag keys required per API key alias (keys[].required_tag_prefixes ending in ':'). */
  requiredByAlias: ReadonlyMap<string, readonly string[]>;
  appTagKey: string;
}

export interface HygieneReport {
  from: string;
  to: string;
  findings: HygieneFinding[];
  notes: string[];
}

const usd = (v: Json | undefined): string => trimDecimal(String(v ?? '0'));

/**
 * The report's options from the config (required tag keys, for all API keys and per alias from
 * `keys[].required_tag_prefixes` ending in ':', and the app tag key) and the tag definitions'
 * names: what `tagspend report --by hygiene` and the dashboard's Hygiene page both pass.
 */
export function hygieneOptions(config: Pick<Config, 'keys' | 'hygiene'>, definitions: ReadonlySet<string> | null): HygieneOptions {
  const requiredByAlias = new Map<string, string[]>();
  for (const k of config.keys) {
    const keys = k.required_tag_prefixes.filter((p) => p.endsWith(':') && p.length > 1).map((p) => p.slice(0, -1));
    if (keys.length > 0) requiredByAlias.set(k.alias, keys);
  }
  return { definitions, requiredKeys: config.hygiene.required_tag_keys, requiredByAlias, appTagKey: config.hygiene.app_tag_key };
}

/** Why a tag is not key:value, or null when it is. */
export function keyValueProblem(tag: string): string | null {
  const i = tag.indexOf(':');
  if (i < 0) return 'no ":" (a tag on its own: no key to group it by)';
  if (i === 0) return 'empty key (starts with ":")';
  if (i === tag.length - 1) return 'empty value (ends with ":")';
  return null;
}

export async function buildHygieneReport(conn: DuckDBConnection, period: { from: string; to: string }, options: HygieneOptions): Promise<HygieneReport> {
  const findings: HygieneFinding[] = [];
  const notes: string[] = [];
  const tags = await selectRows(conn, sql('report/hygiene_tags'), period);
  for (const t of tags) {
    const problem = keyValueProblem(String(t.tag));
    if (problem !== null) findings.push({ check: 'not_key_value', subject: String(t.tag), detail: problem, requests: t.requests ?? 0, spend_usd: usd(t.spend_usd), share: '' });
  }
  for (const d of await selectRows(conn, sql('report/hygiene_near_duplicates'), period)) {
    findings.push({
      check: 'near_duplicate',
      subject: String(d.tag),
      detail: `looks like ${String(d.other)} (${formatUsd(usd(d.other_spend_usd))}); they differ by ${String(d.differs_by)}`,
      requests: d.requests ?? 0,
      spend_usd: usd(d.spend_usd),
      share: '',
    });
  }

  await conn.run(sql('report/create_hygiene_inputs'), { ...period, app_key: options.appTagKey });
  try {
    await conn.run(sql('report/create_hygiene_required'));
    const required: (string | null)[][] = options.requiredKeys.map((k) => [null, k]);
    for (const [alias, keys] of options.requiredByAlias) for (const k of keys) required.push([alias, k]);
    await appendTempRows(conn, 'hygiene_required', required);
    await conn.run(sql('report/stage_hygiene_sets'));
    for (const u of await selectRows(conn, sql('report/hygiene_untagged'))) {
      const app = u.app === null ? null : String(u.app);
      findings.push({
        check: 'untagged_share',
        subject: app === null ? String(u.tag_key) : `${options.appTagKey}:${app} / ${String(u.tag_key)}`,
        detail: `${formatCount(count(u.untagged_requests))} of ${formatCount(count(u.requests))} requests ${app === null ? '' : `of ${options.appTagKey} ${app} `}carry no ${String(u.tag_key)}: tag`,
        requests: u.untagged_requests ?? 0,
        spend_usd: usd(u.untagged_spend_usd),
        share: sharePercent(String(u.untagged_spend_usd), String(u.spend_usd)),
      });
    }
    if (options.definitions === null) notes.push('The tag definitions (control/tags/ in the store) could not be read: tags without a definition are not listed.');
    else {
      for (const t of tags) {
        if (!options.definitions.has(String(t.tag))) {
          findings.push({ check: 'undefined_tag', subject: String(t.tag), detail: 'no definition in control/tags/ (tagspend tags new)', requests: t.requests ?? 0, spend_usd: usd(t.spend_usd), share: '' });
        }
      }
    }
    const since = addDays(period.to, -(NEW_TAG_DAYS - 1));
    for (const t of tags) {
      if (String(t.first_seen) >= since) {
        findings.push({ check: 'new_tag', subject: String(t.tag), detail: `first seen ${String(t.first_seen)}`, requests: t.requests ?? 0, spend_usd: usd(t.spend_usd), share: '' });
      }
    }
    for (const m of await selectRows(conn, sql('report/hygiene_missing_required'))) {
      findings.push({
        check: 'missing_required_key',
        subject: m.key_alias === null ? '(no key)' : String(m.key_alias),
        detail: `${formatCount(count(m.missing_requests))} of ${formatCount(count(m.requests))} requests carry no ${String(m.tag_key)}: tag`,
        requests: m.missing_requests ?? 0,
        spend_usd: usd(m.missing_spend_usd),
        share: sharePercent(String(m.missing_spend_usd), String(m.spend_usd)),
      });
    }
    if (options.requiredKeys.length === 0 && options.requiredByAlias.size === 0) {
      notes.push('No required tag keys are configured (hygiene.required_tag_keys, keys[].required_tag_prefixes): no API key is checked for missing ones.');
    }
  } finally {
    await conn.run(sql('report/drop_hygiene_scratch'));
  }
  notes.push('Spend is the estimated cost of the period (days in the configured timezone); untagged and missing-key shares are of the scope\'s spend. Near-duplicates ignore case, spaces, - and _, or differ by one non-digit character.');
  return { ...period, findings, notes };
}

/** The report as `--format json` prints it and GET /api/hygiene answers. */
export function hygieneJson(report: HygieneReport): { from: string; to: string; findings: HygieneFinding[]; notes: string[] } {
  return { from: report.from, to: report.to, findings: report.findings, notes: report.notes };
}

const COLUMNS = ['check', 'subject', 'detail', 'requests', 'spend_usd', 'share'];

function sections(report: HygieneReport): { check: HygieneCheck; table: Table }[] {
  return HYGIENE_CHECKS.map((check) => ({
    check,
    table: { columns: COLUMNS.slice(1), rows: report.findings.filter((f) => f.check === check) as unknown as Record<string, Json>[] },
  }));
}

export function renderHygiene(report: HygieneReport, format: 'csv' | 'json' | 'md' | 'html' | 'table'): string {
  const title = `Tag hygiene, ${report.from} to ${report.to}`;
  switch (format) {
    case 'csv':
      return toCsv({ columns: COLUMNS, rows: report.findings as unknown as Record<string, Json>[] });
    case 'json':
      return `${JSON.stringify(hygieneJson(report), null, 2)}\n`;
    case 'md':
      return [
        `# ${title}`,
        '',
        ...sections(report).flatMap(({ check, table }) => [`## ${HYGIENE_TITLES[check]}`, '', table.rows.length === 0 ? 'None.' : toMarkdown(table).trimEnd(), '']),
        ...report.notes.map((n) => `- ${n}`),
        '',
      ].join('\n');
    case 'table':
      return [
        ...sections(report).flatMap(({ check, table }) => [`${HYGIENE_TITLES[check]}:`, table.rows.length === 0 ? '  none' : renderTable(table, 'table').trimEnd(), '']),
        ...report.notes.map((n) => `note: ${n}`),
        '',
      ].join('\n');
    case 'html': {
      const body = sections(report)
        .map(({ check, table }) => {
          const rows = table.rows.map((r) => `<tr>${table.columns.map((c) => `<td>${escapeHtml(String(r[c] ?? ''))}</td>`).join('')}</tr>`).join('\n');
          const content = table.rows.length === 0 ? '<p>None.</p>' : `<table><thead><tr>${table.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>\n${rows}\n</tbody></table>`;
          return `<h2>${escapeHtml(HYGIENE_TITLES[check])}</h2>\n${content}`;
        })
        .join('\n');
      const style = 'body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}th,td{padding:.3em .7em;border-bottom:1px solid #ddd;text-align:left}th{background:#f4f4f4}';
      return `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${escapeHtml(title)}</title>\n<style>${style}</style>\n</head>\n<body>\n<h1>${escapeHtml(title)}</h1>\n${body}\n<ul>\n${report.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('\n')}\n</ul>\n</body>\n</html>\n`;
    }
  }
}
