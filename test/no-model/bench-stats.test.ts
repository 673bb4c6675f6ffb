import t from 'tap';
import { median, overheadPercent, pairedRatio, ratio, summarize, throughput } from '../../bench/stats';

// Hand-computed values; no timing anywhere.
t.test('median', async (t) => {
  t.equal(median([5]), 5);
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 3, 2]), 2.5, 'even count: mean of the two middle values');
  t.equal(median([10, -2, 7, 7, 0]), 7);
  const xs = [9, 1, 5];
  median(xs);
  t.same(xs, [9, 1, 5], 'the input is not reordered');
  t.throws(() => median([]), RangeError);
});

t.test('throughput and summarize', async (t) => {
  t.equal(throughput({ ms: 500, units: 100 }), 200, '100 tokens in 0.5 s = 200/s');
  t.throws(() => throughput({ ms: 0, units: 1 }), RangeError);
  // 100 tokens in 1000, 500, 250 and 400 ms: 100, 200, 400, 250 tokens/s.
  const s = summarize([{ ms: 1000, units: 100 }, { ms: 500, units: 100 }, { ms: 250, units: 100 }, { ms: 400, units: 100 }]);
  t.same(s.values, [100, 200, 400, 250]);
  t.equal(s.median, 225);
  t.equal(s.min, 100);
  t.equal(s.max, 400);
});

t.test('ratios', async (t) => {
  const base = summarize([{ ms: 100, units: 10 }, { ms: 50, units: 10 }, { ms: 200, units: 10 }]); // 100, 200, 50 /s
  const cand = summarize([{ ms: 125, units: 10 }, { ms: 50, units: 10 }, { ms: 250, units: 10 }]); // 80, 200, 40 /s
  t.equal(base.median, 100);
  t.equal(cand.median, 80);
  t.equal(ratio(cand, base), 0.8, 'median over median');
  // Per-round ratios 0.8, 1, 0.8 -> median 0.8.
  t.equal(pairedRatio(cand, base), 0.8);
  const c2 = summarize([{ ms: 100, units: 10 }, { ms: 100, units: 10 }, { ms: 100, units: 10 }]); // 100 /s each
  // Per-round 1, 0.5, 2 -> median 1; median over median is also 1.
  t.equal(pairedRatio(c2, base), 1);
  t.equal(ratio(c2, base), 1);
});

t.test('overhead percent', async (t) => {
  t.equal(overheadPercent(1), 0);
  t.equal(overheadPercent(0.5), 100, 'half the throughput is twice the time per token');
  t.equal(Number(overheadPercent(0.8).toFixed(10)), 25);
});
