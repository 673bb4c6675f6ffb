import t from 'tap';
import { add, ablate, clamp } from '../../lib/index';
import { toNativePlan } from '../../lib/steering';
import { buildMonitor } from '../../lib/monitor-layout';
import { caught, mismatch, show } from '../fixtures/lifecycle/expect-error';

// Steering plans and monitor entries are checked in TypeScript before anything reaches the
// addon: every bad shape gives ERR_INVALID_ARG naming the exact field. n_embd 64, 5 blocks
// (stories260K's shape).
const N = 64;
const L = 5;
const v = (fill = 0.5, n = N) => new Float32Array(n).fill(fill);
const withAt = (i: number, x: number) => { const a = v(); a[i] = x; return a; };
const perBlock = new Map<number, Float32Array>([[1, v()], [2, v()]]);

const BAD_PLANS: [string, unknown, string, RegExp?][] = [
  ['a plan that is not an object', 42, 'plan'],
  ['a plan that is null inside an array', [null], 'plan[0]'],
  ['ops that are not an array', { ops: 'add' }, 'plan.ops'],
  ['an unknown plan key', { ops: [], position: 'all' }, 'plan.position'],
  ['an unknown positions value', { ops: [], positions: 'some' }, 'plan.positions'],
  ['an unknown op kind', [{ kind: 'scale', vector: v(), blocks: [1] }], 'plan[0].kind'],
  ['an op without kind', [{ vector: v(), blocks: [1] }], 'plan[0].kind'],
  ['an unknown op key', [{ kind: 'add', vector: v(), blocks: [1], scal: 2 }], 'plan[0].scal'],
  ['a block past the last', [add(v(), 1, [L])], 'plan[0].blocks[0]', /\[0, 4\]/],
  ['a negative block', [add(v(), 1, [-1])], 'plan[0].blocks[0]'],
  ['a fractional block', [add(v(), 1, 1.5)], 'plan[0].blocks[0]'],
  ['an empty block list', [add(v(), 1, [])], 'plan[0].blocks'],
  ['a block list that is a string', [add(v(), 1, 'first' as never)], 'plan[0].blocks'],
  ['a vector one short', [add(v(0.5, N - 1), 1, [1])], 'plan[0].vector@1', /64 values/],
  ['a vector one long', [add(v(0.5, N + 1), 1, [1])], 'plan[0].vector@1', /64 values/],
  ['an empty vector', [add(new Float32Array(0), 1, [1])], 'plan[0].vector@1'],
  ['NaN in a vector', [add(withAt(7, NaN), 1, [1])], 'plan[0].vector@1[7]', /received NaN/],
  ['Infinity in a vector', [add(withAt(3, Infinity), 1, [1])], 'plan[0].vector@1[3]', /received Infinity/],
  ['-Infinity in a direction', [clamp(withAt(0, -Infinity), { max: 1 }, [1])], 'plan[0].direction@1[0]'],
  ['a string in a vector array', [add(['0.5', ...Array(N - 1).fill(0)] as never, 1, [1])], 'plan[0].vector@1[0]'],
  ['a vector that is a number', [add(3 as never, 1, [1])], 'plan[0].vector'],
  ['a vector that is a string', [add('v' as never, 1, [1])], 'plan[0].vector'],
  ['a plain vector without blocks', [add(v(), 1)], 'plan[0].blocks'],
  ['a Map asked for a block it lacks', [add(perBlock, 1, [3])], 'plan[0].blocks[0]', /1, 2/],
  ['a Map holding a block past the last', [add(new Map([[7, v()]]), 1)], "plan[0].vector (the vector's blocks)"],
  ['a NaN scale', [add(v(), NaN, [1])], 'plan[0].scale'],
  ['an Infinity scale', [add(v(), Infinity, [1])], 'plan[0].scale'],
  ['a string scale', [add(v(), '2' as never, [1])], 'plan[0].scale'],
  ['min > max', [clamp(v(), { min: 2, max: 1 }, [1])], 'plan[0].min', /<= max \(1\)/],
  ['a NaN min', [clamp(v(), { min: NaN }, [1])], 'plan[0].min'],
  ['an Infinity max', [clamp(v(), { max: Infinity }, [1])], 'plan[0].max'],
  ['a clamp without bounds', [clamp(v(), {}, [1])], 'plan[0]', /min, max or both/],
  ['a zero clamp direction', [clamp(v(0), { max: 1 }, [1])], 'plan[0].direction@1', /non-zero/],
  ['a zero ablation direction', [ablate(v(0), [2])], 'plan[0].direction@2', /non-zero/],
  ['the second op bad', { ops: [add(v(), 1, [1]), ablate(v(), [9])] }, 'plan.ops[1].blocks[0]'],
];

t.test('malformed steering plans give ERR_INVALID_ARG naming the field', async (t) => {
  for (const [what, plan, arg, message] of BAD_PLANS) {
    const err = await caught(() => toNativePlan(plan as never, N, L));
    t.equal(mismatch(err, { code: 'ERR_INVALID_ARG', arg, message }), null, what);
  }
});

t.test('a plan passed as an option is named by that option', async (t) => {
  const err = await caught(() => toNativePlan({ ops: [add(v(), NaN, [1])] }, N, L, 'options.steer'));
  t.equal(mismatch(err, { code: 'ERR_INVALID_ARG', arg: 'options.steer.ops[0].scale' }), null);
});

t.test('valid plans of every kind pass and keep their numbers', async (t) => {
  const p = toNativePlan({ positions: 'generated', ops: [add(perBlock, -2), clamp(v(), { min: -1 }, 'all'), ablate(v(1), [0, 4])] }, N, L);
  t.equal(p.positions, 'generated');
  t.same(Array.from(p.ops[0].blocks), [1, 2]);
  t.equal(p.ops[0].scale, -2);
  t.same(Array.from(p.ops[1].blocks), [0, 1, 2, 3, 4]);
  t.same([p.ops[2].min, p.ops[2].max], [0, 0]);
  t.same(toNativePlan([], N, L), { positions: 'all', ops: [] }, 'an empty plan is allowed (it steers nothing)');
});

const BAD_MONITORS: [string, unknown, string][] = [
  ['not an array', 'm', 'options.monitor'],
  ['an empty array', [], 'options.monitor'],
  ['an entry that is not an object', [5], 'options.monitor[0]'],
  ['an unknown entry key', [{ name: 'a', vector: v(), blocks: [1], scale: 1 }], 'options.monitor[0].scale'],
  ['an empty name', [{ name: '', vector: v(), blocks: [1] }], 'options.monitor[0].name'],
  ['a duplicate name', [{ name: 'a', vector: v(), blocks: [1] }, { name: 'a', vector: v(), blocks: [2] }], 'options.monitor[1].name'],
  ['a vector of the wrong size', [{ name: 'a', vector: v(1, 10), blocks: [1] }], 'options.monitor[0].vector@1'],
  ['NaN in a vector', [{ name: 'a', vector: withAt(1, NaN), blocks: [1] }], 'options.monitor[0].vector@1[1]'],
  ['a zero vector', [{ name: 'a', vector: v(0), blocks: [1] }], 'options.monitor[0].vector@1'],
  ['a block out of range', [{ name: 'a', vector: v(), blocks: [5] }], 'options.monitor[0].blocks[0]'],
  ['a plain vector without blocks', [{ name: 'a', vector: v() }], 'options.monitor[0].blocks'],
];

t.test('malformed monitor entries give ERR_INVALID_ARG naming the field', async (t) => {
  for (const [what, entries, arg] of BAD_MONITORS) {
    const err = await caught(() => buildMonitor(entries, N, L));
    t.equal(mismatch(err, { code: 'ERR_INVALID_ARG', arg }), null, `${what}: ${show(entries)}`);
  }
});
