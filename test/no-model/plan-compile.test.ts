import t from 'tap';
import { native } from '../../lib/native';
import { toNativePlan, add, clamp, ablate } from '../../lib/steering';
import { clampOracle, dot, maxAbsDiff, randomVector, rng, unit } from '../helpers/math';

// The addon compiles plans into what the hook takes per block: one addition c and clamps
// (unit direction, lo, hi), applied as h1 = h + c, then every clamp from h1. Applying those in plain
// TypeScript must equal the documented semantics computed another way (additions summed by hand,
// then clampOracle).
function applyBlock(h: ArrayLike<number>, c: ArrayLike<number>, clamps: { unit: ArrayLike<number>; lo: number; hi: number }[]): number[] {
  const h1 = Array.from(h, (x, k) => x + c[k]);
  const out = h1.slice();
  for (const cl of clamps) {
    const p = dot(h1, cl.unit);
    const q = Math.min(Math.max(p, cl.lo), cl.hi);
    for (let k = 0; k < out.length; k++) out[k] += (q - p) * cl.unit[k];
  }
  return out;
}

const N = 32;
const LAYERS = 6;

t.test('compiled blocks reproduce additions followed by simultaneous clamps', async (t) => {
  const r = rng(99);
  for (let trial = 0; trial < 50; trial++) {
    const a1 = randomVector(N, 1000 + trial, 0.5);
    const a2 = randomVector(N, 2000 + trial, 0.5);
    const c1 = randomVector(N, 3000 + trial);
    const c2 = randomVector(N, 4000 + trial);
    const lo = r() - 0.5;
    const hi = lo + r();
    const plan = toNativePlan([add(a1, 1.5, [2]), add(a2, -0.7, [2]), clamp(c1, { min: lo, max: hi }, [2]), clamp(c2, { max: 0.2 }, [2]), ablate(a1, [4])], N, LAYERS);
    const compiled = native().compilePlan(plan, N, LAYERS);
    const b2 = compiled.blocks.find((x) => x.block === 2)!;
    const b4 = compiled.blocks.find((x) => x.block === 4)!;
    const h = randomVector(N, 5000 + trial, 2);
    const h1 = Array.from(h, (x, k) => x + 1.5 * a1[k] - 0.7 * a2[k]);
    const expect2 = clampOracle(h1, [{ u: unit(c1), min: lo, max: hi }, { u: unit(c2), max: 0.2 }]);
    const got2 = applyBlock(h, b2.add, b2.clamps);
    t.ok(maxAbsDiff(got2, expect2) < 1e-5, `block 2, trial ${trial}: ${maxAbsDiff(got2, expect2)}`);
    const got4 = applyBlock(h, b4.add, b4.clamps);
    t.ok(Math.abs(dot(got4, unit(a1))) < 1e-5, 'ablation leaves no component along the direction');
  }
});

t.test('a one-sided clamp leaves the open side unbounded', async (t) => {
  const compiled = native().compilePlan(toNativePlan([clamp(randomVector(N, 7), { max: 0.5 }, [1])], N, LAYERS), N, LAYERS);
  const c = compiled.blocks[0].clamps[0];
  t.equal(c.lo, -Infinity);
  t.equal(c.hi, 0.5);
  t.ok(compiled.blocks[0].add.every((x) => x === 0), 'a block with clamps only adds exactly nothing');
});

t.test('additions are summed in double before rounding once to float32', async (t) => {
  const v = new Float32Array(N).fill(0.1);
  const ops = Array.from({ length: 10 }, () => add(v, 1, [0]));
  const compiled = native().compilePlan(toNativePlan(ops, N, LAYERS), N, LAYERS);
  t.equal(compiled.blocks[0].add[0], Math.fround(10 * Math.fround(0.1)));
});

// The per-sequence hook shares one set of clamp directions per block among all slots: each slot
// keeps its own addition and bounds, and leaves the directions of other slots unbounded. For each
// slot, applying the shared tables must equal that slot's plan applied alone.
t.test('slot layout gives every slot exactly its own plan over shared directions', async (t) => {
  for (let trial = 0; trial < 20; trial++) {
    const shared = randomVector(N, 100 + trial);
    const plans = [
      toNativePlan([add(randomVector(N, 200 + trial, 0.3), 2, [1, 3]), clamp(shared, { max: 0.1 }, [1])], N, LAYERS),
      toNativePlan([clamp(shared, { min: -0.2, max: 0.4 }, [1]), clamp(randomVector(N, 300 + trial), { min: 0 }, [1, 3])], N, LAYERS),
      toNativePlan([ablate(randomVector(N, 400 + trial), [3]), clamp(shared, { max: 0.3 }, [3]), clamp(shared, { min: -0.1 }, [3])], N, LAYERS),
    ];
    const layout = native().layoutSlots(plans.map((plan, i) => ({ slot: i + 1, plan })), N, LAYERS);
    const b1 = layout.blocks.find((b) => b.block === 1)!;
    t.equal(b1.dirs.length, layout.nDirs * N);
    plans.forEach((plan, i) => {
      const alone = native().compilePlan(plan, N, LAYERS);
      for (const block of [1, 3]) {
        const bt = layout.blocks.find((b) => b.block === block)!;
        const mine = alone.blocks.find((b) => b.block === block);
        const sv = bt.slots.find((s) => s.slot === i + 1);
        const h = randomVector(N, 500 + trial * 7 + block, 1.5);
        const want = mine ? applyBlock(h, mine.add, mine.clamps) : Array.from(h);
        const got = sv
          ? applyBlock(h, sv.c, Array.from({ length: layout.nDirs }, (_, k) => ({ unit: bt.dirs.subarray(k * N, (k + 1) * N), lo: sv.lo[k], hi: sv.hi[k] })))
          : Array.from(h);
        t.ok(maxAbsDiff(got, want) < 1e-5, `trial ${trial}, slot ${i + 1}, block ${block}: ${maxAbsDiff(got, want)}`);
      }
    });
    // the shared direction of block 1 takes one row for two slots; slot 3 clamps it twice at block 3
    t.equal(layout.nDirs % 4, 0, 'directions are rounded up to a multiple of 4');
  }
});

t.test('the addon rejects what the TypeScript layer would, with ERR_INVALID_ARG', async (t) => {
  const v = randomVector(N, 4);
  const bad = { positions: 'all' as const, ops: [{ kind: 'clamp' as const, blocks: Int32Array.of(1), vectors: v, min: 2, max: 1 }] };
  t.throws(() => native().compilePlan(bad, N, LAYERS), { code: 'ERR_INVALID_ARG', message: /min > max/ });
  const outOfRange = { positions: 'all' as const, ops: [{ kind: 'add' as const, blocks: Int32Array.of(LAYERS), vectors: v, scale: 1 }] };
  t.throws(() => native().compilePlan(outOfRange, N, LAYERS), { code: 'ERR_INVALID_ARG', message: /outside/ });
  const wrongSize = { positions: 'all' as const, ops: [{ kind: 'add' as const, blocks: Int32Array.of(1), vectors: new Float32Array(N - 1), scale: 1 }] };
  t.throws(() => native().compilePlan(wrongSize, N, LAYERS), { code: 'ERR_INVALID_ARG' });
  const zero = { positions: 'all' as const, ops: [{ kind: 'clamp' as const, blocks: Int32Array.of(1), vectors: new Float32Array(N), max: 1 }] };
  t.throws(() => native().compilePlan(zero, N, LAYERS), { code: 'ERR_INVALID_ARG', message: /zero length/ });
  const overflow = { positions: 'all' as const, ops: [{ kind: 'add' as const, blocks: Int32Array.of(1), vectors: new Float32Array(N).fill(1e30), scale: 1e30 }] };
  t.throws(() => native().compilePlan(overflow, N, LAYERS), { code: 'ERR_INVALID_ARG', message: /overflow/ });
});
