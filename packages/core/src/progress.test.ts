import { createProgressRenderer, formatDuration } from './progress';

function fakeStream(isTTY = false) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, columns: 100, write: (c: string) => chunks.push(c) } };
}

describe('createProgressRenderer (plain lines)', () => {
  it('prints the first event, throttles to one line per interval per task, and always prints done', () => {
    const { chunks, stream } = fakeStream();
    let t = 0;
    const render = createProgressRenderer({ stream, now: () => t, intervalMs: 5000 });
    render({ task: 'sasrec:train', current: 0, total: 10, unit: 'epoch' });
    t = 1000;
    render({ task: 'sasrec:train', current: 1, total: 10, unit: 'epoch' }); // throttled
    t = 4000;
    render({ task: 'sasrec:train', current: 2, total: 10, unit: 'epoch', values: { loss: 0.693147 } }); // throttled
    t = 6000;
    render({ task: 'sasrec:train', current: 3, total: 10, unit: 'epoch', values: { loss: 0.693147 } });
    t = 7000;
    render({ task: 'sasrec:train', current: 10, total: 10, unit: 'epoch', done: true, values: { hr10: 0.5 } });
    expect(chunks).toEqual([
      '[sasrec:train] 0/10 epoch (0%)\n',
      // 3 epochs in 6 s = 0.500/s; 7 left -> 14 s
      '[sasrec:train] 3/10 epoch (30%) 0.500 epoch/s eta 14s loss=0.6931\n',
      '[sasrec:train] done 10/10 epoch in 7s hr10=0.5000\n',
    ]);
  });

  it('throttles tasks independently and formats bytes', () => {
    const { chunks, stream } = fakeStream();
    let t = 0;
    const render = createProgressRenderer({ stream, now: () => t, intervalMs: 1000 });
    render({ task: 'download:a', current: 0, total: 4 * 1048576, unit: 'bytes' });
    render({ task: 'eval', current: 5 });
    t = 500;
    render({ task: 'download:a', current: 1048576, total: 4 * 1048576, unit: 'bytes' });
    render({ task: 'eval', current: 6 });
    t = 2000;
    render({ task: 'download:a', current: 2 * 1048576, total: 4 * 1048576, unit: 'bytes' });
    expect(chunks).toEqual([
      '[download:a] 0 B/4.0 MiB (0%)\n',
      '[eval] 5\n',
      '[download:a] 2.0 MiB/4.0 MiB (50%) 1.0 MiB/s eta 2s\n',
    ]);
  });

  it('writes throttled JSON lines', () => {
    const { chunks, stream } = fakeStream(true);
    let t = 0;
    const render = createProgressRenderer({ stream, json: true, now: () => t, intervalMs: 1000 });
    render({ task: 'x', current: 0, total: 2, unit: 'step' });
    t = 100;
    render({ task: 'x', current: 1, total: 2, unit: 'step' });
    t = 2000;
    render({ task: 'x', current: 2, total: 2, unit: 'step', done: true });
    expect(chunks.map((c) => JSON.parse(c))).toEqual([
      { time: new Date(0).toISOString(), task: 'x', current: 0, total: 2, unit: 'step' },
      { time: new Date(2000).toISOString(), task: 'x', current: 2, total: 2, unit: 'step', rate: 1, eta: 0, done: true },
    ]);
  });
});

describe('createProgressRenderer (terminal)', () => {
  it('redraws one line in place with a bar and ends it with a newline when done', () => {
    const { chunks, stream } = fakeStream(true);
    let t = 0;
    const render = createProgressRenderer({ stream, now: () => t, redrawMs: 100 });
    render({ task: 't', current: 0, total: 4, unit: 'step' });
    t = 50;
    render({ task: 't', current: 1, total: 4, unit: 'step' }); // within redraw interval: skipped
    t = 2000;
    render({ task: 't', current: 2, total: 4, unit: 'step', values: { loss: 1.25 } });
    t = 4000;
    render({ task: 't', current: 4, total: 4, unit: 'step', done: true });
    expect(chunks).toHaveLength(3);
    for (const c of chunks) expect(c.startsWith('\r\x1b[2K')).toBe(true);
    expect(chunks[1]).toMatch(/^\r\x1b\[2Kt \[#+-+\] \(50%\) 2\/4 step 1\.0 step\/s eta 2s loss=1\.250$/);
    expect(chunks[2].endsWith('\n')).toBe(true);
    expect(chunks[2]).toContain('(100%) 4/4 step in 4s');
    const bar = /\[(#*)(-*)\]/.exec(chunks[1])!;
    expect(bar[1].length).toBe(bar[2].length); // half filled
  });
});

describe('formatDuration', () => {
  it('formats seconds, minutes and hours', () => {
    expect(formatDuration(4.4)).toBe('4s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(7380)).toBe('2h03m');
    expect(formatDuration(Infinity)).toBe('?');
  });
});
