import t from 'tap';
import { runFuzz } from './helpers/fuzz-harness';
import { PersonaSteerError } from '../../lib/errors';

// The fuzz tests' memory and outcome accounting must be able to fail, so check it on known cases.

t.test('the fuzz harness measures memory that a case keeps', async (t) => {
  const kept: number[][] = [];
  const stats = runFuzz({
    cases: 2,
    make: (i) => i,
    run: () => { kept.push(new Array(8 * 1024 * 1024).fill(1.5)); return 'valid'; },
    expectedCode: 'ERR_BAD_FILE',
    describe: String,
  });
  t.ok(stats.peakHeapGrowthMb > 100, `heap kept ${stats.peakHeapGrowthMb.toFixed(1)} MB for two 64 MB arrays`);
  t.ok(stats.peakRssGrowthMb > 100, `rss ${stats.peakRssGrowthMb.toFixed(1)} MB`);
  kept.length = 0;
});

t.test('the fuzz harness counts other exceptions as failures with the case number', async (t) => {
  const stats = runFuzz({
    cases: 3,
    make: (i) => i,
    run: (i) => {
      if (i === 1) throw new RangeError('boom');
      if (i === 2) throw new PersonaSteerError('ERR_BAD_FILE', 'invalid GGUF file: bad');
      return 'valid';
    },
    expectedCode: 'ERR_BAD_FILE',
    describe: String,
  });
  t.strictSame(stats.outcomes, { valid: 1, ERR_BAD_FILE: 1, RangeError: 1 });
  t.match(stats.failures, [/^case 1: RangeError: boom/]);
});
