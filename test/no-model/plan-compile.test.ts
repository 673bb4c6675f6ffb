import t from 'tap';
import { native } from '../../lib/native';
import { toNativePlan, add, clamp, ablate } from '../../lib/steering';
import { clampOracle, dot, maxAbsDiff, randomVector, rng, unit } from '../helpers/math';

// The addon compiles plans into h <- h + U^T relu(W h + b); applying those parameters in plain
// TypeScript must equal the documented semantics computed another way (additions, then clamps).
function applyUnits(h: Float32Array, w: Float32Array, b: Float32Array, u: Float32Array, nUnits: number): number[] {
  const n = h.length;
  const out = Array.from(h);
  for (let r = 0; r < nUnits; r++) {
    let z = b[r];
    for (let k = 0; k < n; k++) z += w[r * n + k] * h[k];
    const a = Math.max(0, z);
    for (let k = 0; k < n; k++) out[k] += a * u[r * n + k];
  }
  return out;
}

const N = 32;
const LAYERS = 6;

t.test('compiled units reproduce additions followed by simultaneous clamps', async (t) => {
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
    const got2 = applyUnits(h, b2.w, b2.b, b2.u, compiled.nUnits);
    t.ok(maxAbsDiff(got2, expect2) < 1e-5, `block 2, trial ${trial}: ${maxAbsDiff(got2, expect2)}`);
    const got4 = applyUnits(h, b4.w, b4.b, b4.u, compiled.nUnits);
    t.ok(Math.abs(dot(got4, unit(a1))) < 1e-5, 'ablation leaves no component along the direction');
  }
});

t.test('unit capacity is rounded up so one more clamp does not change the graph shape', async (t) => {
  const v = randomVector(N, 1);
  const one = native().compilePlan(toNativePlan([clamp(v, { min: 0, max: 1 }, [1])], N, LAYERS), N, LAYERS);
  const two = native().compilePlan(toNativePlan([clamp(v, { min: 0, max: 1 }, [1]), clamp(randomVector(N, 2), { max: 1 }, [1])], N, LAYERS), N, LAYERS);
  t.equal(one.blocks[0].usedUnits, 2);
  t.equal(two.blocks[0].usedUnits, 3);
  t.equal(one.nUnits, two.nUnits);
  t.equal(one.nUnits % 8, 0);
});

t.test('unused units are exactly zero, so they add exactly nothing', async (t) => {
  const plan = native().compilePlan(toNativePlan([add(randomVector(N, 3), 1, [0])], N, LAYERS), N, LAYERS);
  const b = plan.blocks[0];
  for (let r = b.usedUnits; r < plan.nUnits; r++) {
    t.ok(b.w.subarray(r * N, (r + 1) * N).every((x) => x === 0) && b.u.subarray(r * N, (r + 1) * N).every((x) => x === 0) && b.b[r] === 0, `unit ${r} is zero`);
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
});
