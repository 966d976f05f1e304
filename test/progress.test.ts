import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createMultiProgress, createProgress, progressEnabled } from '../src/progress.js';

/** A stream that records what is written; `isTTY` as asked (cli-progress draws only on a TTY). */
function sink(isTTY: boolean): Writable & { isTTY: boolean; columns: number; text(): string } {
  const chunks: string[] = [];
  const s = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  }) as Writable & { isTTY: boolean; columns: number; text(): string };
  s.isTTY = isTTY;
  s.columns = 120;
  s.text = () => chunks.join('');
  return s;
}

describe('progress bars', () => {
  it('draws nothing off a TTY, or with quiet or json, but still prints log lines', () => {
    for (const [tty, quiet, json] of [
      [false, false, false],
      [true, true, false],
      [true, false, true],
    ] as const) {
      const stream = sink(tty);
      expect(progressEnabled({ quiet, json, stream })).toBe(false);
      const p = createProgress({ label: 'MI', total: 10, quiet, json, stream });
      p.update(5, { loss: 0.5 });
      p.increment();
      p.stop();
      expect(p.drawing).toBe(false);
      expect(stream.text()).toBe('');
      p.log('a line');
      expect(stream.text()).toBe('a line\n');
      const m = createMultiProgress({ quiet, json, stream });
      m.add('run', 3).update(1);
      m.stop();
      expect(stream.text()).toBe('a line\n');
    }
  });

  it('on a TTY draws the label, count and custom fields, with numbers to 4 significant digits', async () => {
    const stream = sink(true);
    const p = createProgress({ label: 'train', total: 4, stream, format: '{label} {value}/{total} epoch {epoch} loss {loss} {bar}' });
    expect(p.drawing).toBe(true);
    p.update(2, { epoch: 3, loss: 0.123456 });
    // cli-progress redraws at most 5 times a second (fps 5)
    await new Promise((r) => setTimeout(r, 300));
    const text = stream.text();
    expect(text).toContain('train 2/4 epoch 3 loss 0.1235');
    p.stop();
    expect(p.drawing).toBe(false);
  });

  it('a field not given yet prints empty, not as {name}', () => {
    const stream = sink(true);
    const p = createProgress({ label: 'x', total: 2, stream, format: '{label} mi={mi}|' });
    p.update(1);
    expect(stream.text()).toContain('x mi=|');
    expect(stream.text()).not.toContain('{mi}');
    p.stop();
  });

  it('waits delayMs before drawing the first frame', async () => {
    const stream = sink(true);
    const p = createProgress({ label: 'slow', total: 10, stream, delayMs: 150 });
    p.update(1);
    expect(p.drawing).toBe(false);
    expect(stream.text()).toBe('');
    await new Promise((r) => setTimeout(r, 200));
    p.update(2);
    expect(p.drawing).toBe(true);
    expect(stream.text()).toContain('slow');
    p.stop();
    // stopped before the delay: never draws
    const quick = sink(true);
    const q = createProgress({ label: 'quick', total: 10, stream: quick, delayMs: 100 });
    q.update(10);
    q.stop();
    await new Promise((r) => setTimeout(r, 150));
    expect(quick.text()).toBe('');
  });

  it('multibar draws one line per run', () => {
    const stream = sink(true);
    const m = createMultiProgress({ stream, format: '{label} {value}/{total} err {error}' });
    const a = m.add('mlp-seed0', 5);
    const b = m.add('res-seed0', 5);
    a.update(2, { error: 0.25 });
    b.update(4, { error: 0.5 });
    m.stop();
    const text = stream.text();
    expect(text).toContain('mlp-seed0 2/5 err 0.25');
    expect(text).toContain('res-seed0 4/5 err 0.5');
  });
});

describe('formatSeconds', () => {
  it('formats elapsed and ETA times, and a missing estimate as --', async () => {
    const { formatSeconds } = await import('../src/progress.js');
    expect(formatSeconds(7.4)).toBe('7s');
    expect(formatSeconds(185)).toBe('3m05s');
    expect(formatSeconds(3720)).toBe('1h02m');
    expect(formatSeconds('NULL')).toBe('--');
    expect(formatSeconds('INF')).toBe('--');
  });
});
