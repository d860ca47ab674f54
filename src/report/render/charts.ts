// Charts as static inline SVG: no script, nothing fetched, every text escaped. The same markup
// serves the dashboard and the HTML report that is mailed or opened from a shared folder.
// Hovering a bar shows its figure (an SVG <title>); the figures are also in the tables beside.
import { escapeHtml } from './escape.ts';

/** Tableau 10: distinguishable, and readable for the common kinds of colour blindness. */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f'];
const OTHER_COLOUR = '#bab0ac';
const NONE_COLOUR = '#d9d9d9';
const FONT = 'font-family="system-ui,sans-serif" font-size="12"';

export interface BarRow {
  label: string;
  /** Shown in italics: a row without a value (`(untagged)`), never a real one. */
  sentinel?: boolean;
  value: number;
  /** The same row in the previous period, drawn as an outline behind the bar. */
  previous?: number;
  /** The figure printed after the bar (`$12.34`). */
  text: string;
}

export interface SeriesChart {
  /** X axis: one column per day (YYYY-MM-DD). */
  days: readonly string[];
  series: readonly { name: string; sentinel?: boolean; other?: boolean; values: readonly number[] }[];
  /** Formats a value for the axis and the hover text. */
  format: (value: number) => string;
}

const n2 = (v: number): string => (Math.round(v * 100) / 100).toString();

function colourOf(index: number, s: { sentinel?: boolean; other?: boolean }): string {
  if (s.other) return OTHER_COLOUR;
  if (s.sentinel) return NONE_COLOUR;
  return PALETTE[index % PALETTE.length]!;
}

/** A round step for about `ticks` gridlines up to `max`: 1, 2 or 5 times a power of ten. */
export function niceStep(max: number, ticks = 4): number {
  if (!(max > 0)) return 1;
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const m = raw / power;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function svgOpen(width: number, height: number, label: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="${escapeHtml(label)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" ${FONT}>`;
}

/** Horizontal bars, largest first, with the previous period as an outline behind each bar. */
export function barChart(title: string, rows: readonly BarRow[], options: { previousLabel?: string } = {}): string {
  const width = 720;
  const labelWidth = 200;
  const textWidth = 90;
  const barHeight = 18;
  const gap = 8;
  const top = 8;
  const legend = rows.some((r) => r.previous !== undefined) ? 22 : 0;
  const height = top + rows.length * (barHeight + gap) + legend + 4;
  const max = Math.max(0, ...rows.map((r) => Math.max(r.value, r.previous ?? 0)));
  const plot = width - labelWidth - textWidth - 10;
  const scale = (v: number): number => (max > 0 ? (Math.max(0, v) / max) * plot : 0);
  const parts = [svgOpen(width, height, title), `<title>${escapeHtml(title)}</title>`];
  rows.forEach((r, i) => {
    const y = top + i * (barHeight + gap);
    const label = escapeHtml(truncate(r.label, 30));
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 13}" text-anchor="end"${r.sentinel ? ' font-style="italic" fill="#666"' : ' fill="#222"'}>${label}</text>`,
    );
    if (r.previous !== undefined && r.previous > 0) {
      parts.push(`<rect class="previous" x="${labelWidth}" y="${y + 1}" width="${n2(scale(r.previous))}" height="${barHeight - 2}" fill="none" stroke="#999" stroke-dasharray="3 2"/>`);
    }
    const hover = `${r.label}: ${r.text}`;
    parts.push(
      `<rect class="mark" x="${labelWidth}" y="${y + 3}" width="${n2(scale(r.value))}" height="${barHeight - 6}" fill="${r.sentinel ? NONE_COLOUR : PALETTE[0]}"><title>${escapeHtml(hover)}</title></rect>`,
      `<text x="${n2(labelWidth + Math.max(scale(r.value), scale(r.previous ?? 0)) + 6)}" y="${y + 13}" fill="#222">${escapeHtml(r.text)}</text>`,
    );
  });
  if (legend) {
    const y = height - legend + 6;
    parts.push(
      `<rect x="${labelWidth}" y="${y}" width="14" height="10" fill="${PALETTE[0]}"/><text x="${labelWidth + 20}" y="${y + 9}" fill="#444">this period</text>`,
      `<rect x="${labelWidth + 110}" y="${y}" width="14" height="10" fill="none" stroke="#999" stroke-dasharray="3 2"/><text x="${labelWidth + 130}" y="${y + 9}" fill="#444">${escapeHtml(options.previousLabel ?? 'previous period')}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

/** Stacked columns per day, one colour per series, with a value axis and a legend. */
export function stackedDailyChart(title: string, chart: SeriesChart): string {
  const width = 720;
  const left = 64;
  const right = 8;
  const top = 10;
  const plotHeight = 200;
  const xAxis = 22;
  const legendRows = Math.ceil(chart.series.length / 4);
  const height = top + plotHeight + xAxis + legendRows * 18 + 6;
  const days = chart.days;
  const totals = days.map((_, d) => chart.series.reduce((s, x) => s + Math.max(0, x.values[d] ?? 0), 0));
  const step = niceStep(Math.max(0, ...totals));
  const yMax = Math.max(step, Math.ceil(Math.max(0, ...totals) / step) * step);
  const plotWidth = width - left - right;
  const slot = days.length > 0 ? plotWidth / days.length : plotWidth;
  const barWidth = Math.max(1, slot * 0.72);
  const y = (v: number): number => top + plotHeight - (v / yMax) * plotHeight;
  const parts = [svgOpen(width, height, title), `<title>${escapeHtml(title)}</title>`];
  for (let v = 0; v <= yMax + step / 2; v += step) {
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${n2(y(v))}" y2="${n2(y(v))}" stroke="#e5e5e5"/>`,
      `<text x="${left - 6}" y="${n2(y(v) + 4)}" text-anchor="end" fill="#666">${escapeHtml(chart.format(v))}</text>`,
    );
  }
  const labelEvery = Math.max(1, Math.ceil(days.length / 10));
  days.forEach((day, d) => {
    const x = left + d * slot + (slot - barWidth) / 2;
    let base = 0;
    chart.series.forEach((s, i) => {
      const v = Math.max(0, s.values[d] ?? 0);
      if (v <= 0) return;
      const y0 = y(base);
      const y1 = y(base + v);
      base += v;
      parts.push(
        `<rect class="mark" x="${n2(x)}" y="${n2(y1)}" width="${n2(barWidth)}" height="${n2(Math.max(0.5, y0 - y1))}" fill="${colourOf(i, s)}"><title>${escapeHtml(`${s.name}, ${day}: ${chart.format(v)}`)}</title></rect>`,
      );
    });
    if (d % labelEvery === 0) {
      parts.push(`<text x="${n2(x + barWidth / 2)}" y="${top + plotHeight + 15}" text-anchor="middle" fill="#666">${escapeHtml(day.slice(5))}</text>`);
    }
  });
  parts.push(`<line x1="${left}" x2="${width - right}" y1="${top + plotHeight}" y2="${top + plotHeight}" stroke="#999"/>`);
  chart.series.forEach((s, i) => {
    const col = i % 4;
    const row = Math.floor(i / 4);
    const lx = left + col * 165;
    const ly = top + plotHeight + xAxis + row * 18 + 4;
    parts.push(
      `<rect x="${lx}" y="${ly}" width="12" height="12" fill="${colourOf(i, s)}"/>`,
      `<text x="${lx + 17}" y="${ly + 10}"${s.sentinel ? ' font-style="italic"' : ''} fill="#333">${escapeHtml(truncate(s.name, 22))}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}
