/**
 * Progress bars on stderr, over cli-progress, shared by the `mi`, `train` and `reproduce` commands.
 *
 * A bar is drawn only when the stream is a TTY and the caller is neither --quiet nor --json: in CI logs and
 * pipes every method is a no-op, so the logs hold only what callers print. A bar can wait `delayMs` before it
 * first draws, so that quick work (an MI estimate under a second) never flashes a bar.
 *
 * The format string takes cli-progress's tokens ({bar}, {percentage}, {value}, {total}, {eta_formatted},
 * {duration_formatted}) plus {label} and any custom field ({epoch}, {loss}, {mi} ...) passed to update();
 * a field not yet given prints as empty, a number prints with 4 significant digits.
 */
import cliProgress from 'cli-progress';

export type ProgressFields = Record<string, string | number | null | undefined>;

export interface ProgressOptions {
  label: string;
  total: number;
  quiet?: boolean;
  json?: boolean;
  /** default process.stderr */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** default DEFAULT_FORMAT; custom fields as {name} */
  format?: string;
  /** wait this long after creation before drawing the first frame (default 0) */
  delayMs?: number;
  /** erase the bar when it stops (default true: the caller prints the result in its place) */
  clearOnStop?: boolean;
}

export interface Progress {
  /** set the count of finished units, and any custom fields */
  update(done: number, fields?: ProgressFields): void;
  increment(by?: number, fields?: ProgressFields): void;
  setTotal(total: number): void;
  /** print a line above the bar (or just print it when no bar is drawn) */
  log(line: string): void;
  stop(): void;
  /** whether a bar is on screen now */
  readonly drawing: boolean;
}

export const DEFAULT_FORMAT = '{label} |{bar}| {percentage}% {value}/{total} | {duration_formatted} elapsed, ETA {eta_formatted}';

const BUILTIN_TOKENS = new Set(['bar', 'percentage', 'value', 'total', 'eta', 'eta_formatted', 'duration', 'duration_formatted']);

/** Whether bars should be drawn on this stream for these flags. */
export function progressEnabled(opts: { quiet?: boolean; json?: boolean; stream?: { isTTY?: boolean } }): boolean {
  const stream = opts.stream ?? process.stderr;
  return !opts.quiet && !opts.json && stream.isTTY === true;
}

function formatField(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) || !Number.isFinite(v) ? String(v) : v.toPrecision(4);
  return v;
}

/** The payload cli-progress formats: every custom token in `format` present (empty until given). */
function payloadFor(format: string, label: string, fields: ProgressFields): Record<string, string> {
  const out: Record<string, string> = { label };
  for (const m of format.matchAll(/\{(\w+)\}/g)) {
    const key = m[1]!;
    if (!BUILTIN_TOKENS.has(key) && key !== 'label') out[key] = formatField(fields[key]);
  }
  return out;
}

function barOptions(stream: NodeJS.WritableStream, format: string, clearOnStop: boolean): cliProgress.Options {
  return {
    stream: stream as NodeJS.WritableStream,
    format,
    clearOnComplete: clearOnStop,
    hideCursor: false,
    barsize: 30,
    fps: 5,
    etaBuffer: 20,
    autopadding: true,
    formatTime: formatSeconds,
  };
}

/** 7s, 3m05s, 1h02m; '--' while cli-progress has no estimate (it passes 'NULL' or 'INF'). */
export function formatSeconds(t: unknown): string {
  const s = typeof t === 'number' ? t : Number(t);
  if (!Number.isFinite(s) || s < 0) return '--';
  const r = Math.round(s);
  if (r < 60) return `${r}s`;
  if (r < 3600) return `${Math.floor(r / 60)}m${String(r % 60).padStart(2, '0')}s`;
  return `${Math.floor(r / 3600)}h${String(Math.floor((r % 3600) / 60)).padStart(2, '0')}m`;
}

const NO_PROGRESS: Progress = {
  update() {},
  increment() {},
  setTotal() {},
  log() {},
  stop() {},
  drawing: false,
};

/** One bar (or nothing, off a TTY or with quiet/json). */
export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  if (!progressEnabled({ ...opts, stream })) {
    // callers' log lines still go out as plain lines
    return { ...NO_PROGRESS, log: (line: string) => void stream.write(`${line}\n`) };
  }
  const format = opts.format ?? DEFAULT_FORMAT;
  const bar = new cliProgress.SingleBar(barOptions(stream, format, opts.clearOnStop ?? true), cliProgress.Presets.shades_classic);
  const fields: ProgressFields = {};
  let total = Math.max(0, opts.total);
  let done = 0;
  let drawing = false;
  let stopped = false;
  const createdAt = Date.now();
  const delayMs = opts.delayMs ?? 0;

  const start = (): void => {
    if (drawing || stopped) return;
    drawing = true;
    bar.start(total, done, payloadFor(format, opts.label, fields));
    // elapsed time counts from creation, not from the first frame (cli-progress keeps it in startTime)
    (bar as unknown as { startTime: number }).startTime = createdAt;
    (bar as unknown as { render(force: boolean): void }).render(true);
  };
  // draw after the delay even if no update arrives then; unref so a pending bar never keeps the process alive
  const timer = delayMs > 0 ? setTimeout(start, delayMs) : null;
  timer?.unref();
  if (delayMs <= 0) start();

  const refresh = (): void => {
    if (!drawing && Date.now() - createdAt >= delayMs) start();
    if (drawing) bar.update(done, payloadFor(format, opts.label, fields));
  };
  return {
    update(value, more) {
      if (stopped) return;
      done = value;
      if (more) Object.assign(fields, more);
      refresh();
    },
    increment(by = 1, more) {
      this.update(done + by, more);
    },
    setTotal(value) {
      total = Math.max(0, value);
      if (drawing) bar.setTotal(total);
    },
    log(line) {
      // erase the bar's line, print, and let the next frame redraw the bar below
      if (drawing) stream.write(`\r\x1b[K${line}\n`);
      else stream.write(`${line}\n`);
      // force the redraw: cli-progress skips a frame identical to the last one it drew
      if (drawing) (bar as unknown as { render(force: boolean): void }).render(true);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      if (drawing) bar.stop();
      drawing = false;
    },
    get drawing() {
      return drawing;
    },
  };
}

export interface MultiProgressOptions {
  quiet?: boolean;
  json?: boolean;
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** format for every bar; {label} names the run */
  format?: string;
  clearOnStop?: boolean;
}

export interface MultiProgress {
  /** a bar for one run (e.g. one training run of a figure), stacked under the others */
  add(label: string, total: number, fields?: ProgressFields): Progress;
  log(line: string): void;
  /** stop every bar (call once, when all runs are done) */
  stop(): void;
}

/** Several bars at once, one per parallel run (or nothing, off a TTY or with quiet/json). */
export function createMultiProgress(opts: MultiProgressOptions = {}): MultiProgress {
  const stream = opts.stream ?? process.stderr;
  if (!progressEnabled({ ...opts, stream })) {
    return { add: () => NO_PROGRESS, log: (line) => void stream.write(`${line}\n`), stop() {} };
  }
  const format = opts.format ?? DEFAULT_FORMAT;
  const multi = new cliProgress.MultiBar(barOptions(stream, format, opts.clearOnStop ?? false), cliProgress.Presets.shades_classic);
  let stopped = false;
  return {
    add(label, total, initial = {}) {
      if (stopped) return NO_PROGRESS;
      const fields: ProgressFields = { ...initial };
      let done = 0;
      let barStopped = false;
      const bar = multi.create(Math.max(0, total), 0, payloadFor(format, label, fields));
      return {
        update(value, more) {
          if (barStopped || stopped) return;
          done = value;
          if (more) Object.assign(fields, more);
          bar.update(done, payloadFor(format, label, fields));
        },
        increment(by = 1, more) {
          this.update(done + by, more);
        },
        setTotal(value) {
          if (!barStopped && !stopped) bar.setTotal(Math.max(0, value));
        },
        log(line) {
          if (!stopped) multi.log(`${line}\n`);
        },
        stop() {
          // the bar stays on screen, frozen, until the whole multibar stops
          barStopped = true;
        },
        get drawing() {
          return !barStopped && !stopped;
        },
      };
    },
    log(line) {
      if (stopped) stream.write(`${line}\n`);
      else multi.log(`${line}\n`);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      multi.stop();
    },
  };
}
