// Progress of a job run: a self-rewriting line on a terminal, nothing otherwise (logs and the
// final summary line say what happened).

export interface Progress {
  phase(name: string, total: number): void;
  advance(done: number, detail?: string): void;
  end(): void;
}

export const silentProgress: Progress = { phase() {}, advance() {}, end() {} };

const MIN_REDRAW_MS = 100;

export function terminalProgress(out: NodeJS.WriteStream, now: () => number = () => performance.now()): Progress {
  if (!out.isTTY) return silentProgress;
  let name = '';
  let total = 0;
  let done = 0;
  let lastDraw = 0;
  const draw = (detail: string, force: boolean): void => {
    const t = now();
    if (!force && t - lastDraw < MIN_REDRAW_MS) return;
    lastDraw = t;
    const pct = total > 0 ? ` ${Math.floor((done / total) * 100)}%` : '';
    const line = `${name}: ${done}/${total}${pct}${detail ? `  ${detail}` : ''}`;
    out.write(`\r\x1b[2K${line.slice(0, (out.columns ?? 100) - 1)}`);
  };
  return {
    phase(n, t) {
      name = n;
      total = t;
      done = 0;
      draw('', true);
    },
    advance(d, detail = '') {
      done += d;
      draw(detail, done >= total);
    },
    end() {
      out.write('\r\x1b[2K');
    },
  };
}
