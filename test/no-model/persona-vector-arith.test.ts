import t, { Test } from 'tap';
import { PersonaVector } from '../../lib/vector/persona-vector';
import { Prng } from './helpers/prng';

// The oracle: plain objects of number arrays, with norms from Math.hypot rather than a dot loop.
type Plain = Record<string, number[]>;

function randomPlain(r: Prng, nEmbd: number): Plain {
  const out: Plain = {};
  const n = r.int(1, 6);
  while (Object.keys(out).length < n) {
    out[String(r.int(0, 12))] = Array.from({ length: nEmbd }, () => r.f32());
  }
  return out;
}

function toPlain(v: PersonaVector): Plain {
  return Object.fromEntries(v.blocks.map((b) => [String(b), Array.from(v.block(b))]));
}

function oracleCombine(a: Plain, b: Plain, sign: number, nEmbd: number): Plain {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort((x, y) => +x - +y);
  const zero = new Array<number>(nEmbd).fill(0);
  return Object.fromEntries(keys.map((k) => [k, (a[k] ?? zero).map((x, i) => Math.fround(x + sign * (b[k] ?? zero)[i]!))]));
}

const hypot = (xs: number[]): number => Math.hypot(...xs);

function close(t: Test, got: number, want: number, rel: number, msg: string): void {
  t.ok(Math.abs(got - want) <= rel * Math.abs(want) + 1e-300, `${msg}: ${got} vs ${want}`);
}

const CASES = 40;

t.test('add equals the element-wise float32 sum over the union of blocks', async (t) => {
  const r = new Prng(1);
  for (let c = 0; c < CASES; c++) {
    const n = r.int(1, 33);
    const a = randomPlain(r, n);
    const b = randomPlain(r, n);
    t.strictSame(toPlain(PersonaVector.fromBlocks(a).add(PersonaVector.fromBlocks(b))), oracleCombine(a, b, 1, n));
  }
});

t.test('sub equals the element-wise float32 difference over the union of blocks', async (t) => {
  const r = new Prng(2);
  for (let c = 0; c < CASES; c++) {
    const n = r.int(1, 33);
    const a = randomPlain(r, n);
    const b = randomPlain(r, n);
    t.strictSame(toPlain(PersonaVector.fromBlocks(a).sub(PersonaVector.fromBlocks(b))), oracleCombine(a, b, -1, n));
  }
});

t.test('scale multiplies every element and rounds to float32', async (t) => {
  const r = new Prng(3);
  for (let c = 0; c < CASES; c++) {
    const a = randomPlain(r, r.int(1, 33));
    const k = r.pick([0, -1, 0.5, 3, r.next() * 10 - 5]);
    const want = Object.fromEntries(Object.entries(a).map(([b, xs]) => [b, xs.map((x) => Math.fround(x * k))]));
    t.strictSame(toPlain(PersonaVector.fromBlocks(a).scale(k)), want);
  }
});

t.test('neg flips the sign of every element', async (t) => {
  const r = new Prng(4);
  const a = randomPlain(r, 9);
  const got = toPlain(PersonaVector.fromBlocks(a).neg());
  for (const [b, xs] of Object.entries(a)) xs.forEach((x, i) => t.ok(Object.is(got[b]![i], -x), `block ${b}[${i}]`));
});

t.test('norms match Math.hypot of each block', async (t) => {
  const r = new Prng(5);
  for (let c = 0; c < CASES; c++) {
    const a = randomPlain(r, r.int(1, 65));
    const norms = PersonaVector.fromBlocks(a).norms();
    t.strictSame([...norms.keys()], Object.keys(a).map(Number).sort((x, y) => x - y));
    for (const [b, xs] of Object.entries(a)) close(t, norms.get(Number(b))!, hypot(xs), 1e-12, `block ${b}`);
  }
});

t.test('normalize divides each block by its hypot norm, to within one float32 rounding', async (t) => {
  const r = new Prng(6);
  for (let c = 0; c < CASES; c++) {
    const a = randomPlain(r, r.int(1, 40));
    const got = toPlain(PersonaVector.fromBlocks(a).normalize());
    for (const [b, xs] of Object.entries(a)) {
      const h = hypot(xs);
      xs.forEach((x, i) => close(t, got[b]![i]!, x / h, 2 ** -23, `block ${b}[${i}]`));
    }
  }
});

t.test('cosine matches dot over the product of hypot norms, per shared block', async (t) => {
  const r = new Prng(7);
  for (let c = 0; c < CASES; c++) {
    const n = r.int(1, 40);
    const a = randomPlain(r, n);
    const b = { ...randomPlain(r, n), [Object.keys(a)[0]!]: Array.from({ length: n }, () => r.f32()) };
    const cos = PersonaVector.fromBlocks(a).cosine(PersonaVector.fromBlocks(b));
    const shared = Object.keys(a).filter((k) => k in b).map(Number).sort((x, y) => x - y);
    t.strictSame([...cos.keys()], shared);
    for (const k of shared) {
      const x = a[k]!;
      const y = b[k]!;
      const want = x.reduce((s, xi, i) => s + xi * y[i]!, 0) / (hypot(x) * hypot(y));
      close(t, cos.get(k)!, want, 1e-9, `block ${k}`);
    }
  }
});

t.test('cosine of a vector with itself is 1 and with its negation is -1 for a single block', async (t) => {
  const v = PersonaVector.fromBlocks({ 3: [1, 2, 3, 4] });
  t.equal(v.cosine(v, 3), 1);
  t.equal(v.cosine(v.neg(), 3), -1);
});

t.test('select keeps exactly the named blocks with their values', async (t) => {
  const r = new Prng(8);
  const a = randomPlain(r, 7);
  const keys = Object.keys(a);
  const pick = keys.filter((_, i) => i % 2 === 0).map(Number);
  const got = toPlain(PersonaVector.fromBlocks(a).select(pick));
  t.strictSame(got, Object.fromEntries(pick.sort((x, y) => x - y).map((b) => [String(b), a[String(b)]!.map(Math.fround)])));
});

t.test('changing the array returned by block() does not change the vector', async (t) => {
  const v = PersonaVector.fromBlocks({ 2: [1, 2, 3] });
  v.block(2)[0] = 99;
  t.strictSame(Array.from(v.block(2)), [1, 2, 3]);
});

t.test('changing the input arrays after fromBlocks does not change the vector', async (t) => {
  const input = [1, 2, 3];
  const typed = new Float32Array([4, 5, 6]);
  const v = PersonaVector.fromBlocks(new Map<number, ArrayLike<number>>([[0, input], [1, typed]]));
  input[0] = 99;
  typed[0] = 99;
  t.strictSame(Array.from(v.block(0)), [1, 2, 3]);
  t.strictSame(Array.from(v.block(1)), [4, 5, 6]);
});

t.test('a vector and its metadata are frozen', async (t) => {
  const v = PersonaVector.fromBlocks({ 1: [1] }, { trait: 'evil', recommendedBlocks: [1] });
  t.ok(Object.isFrozen(v));
  t.ok(Object.isFrozen(v.metadata));
  t.ok(Object.isFrozen(v.metadata.recommendedBlocks));
  t.ok(Object.isFrozen(v.blocks));
});

t.test('arithmetic keeps the model identity and drops the trait calibration from metadata', async (t) => {
  const v = PersonaVector.fromBlocks({ 1: [1, 2] }, {
    modelHint: 'llama', source: { blockCount: 4 }, residualNorms: [1, 2, 3], trait: 'evil', coefficient: 2,
    recommendedBlocks: [1], capThresholds: [0.5],
  });
  const want = { modelHint: 'llama', source: { blockCount: 4 }, residualNorms: [1, 2, 3] };
  for (const [name, d] of [['add', v.add(v)], ['sub', v.sub(v.scale(2))], ['scale', v.scale(2)], ['neg', v.neg()], ['normalize', v.normalize()]] as const) {
    t.strictSame(d.metadata, want, name);
  }
});

t.test('select keeps the metadata and only the recommended blocks and thresholds it selects', async (t) => {
  const v = PersonaVector.fromBlocks({ 1: [1], 2: [2], 3: [3] }, { trait: 'evil', recommendedBlocks: [3, 1], capThresholds: [0.3, 0.1] });
  t.strictSame(v.select([1, 2]).metadata, { trait: 'evil', recommendedBlocks: [1], capThresholds: [0.1] });
  t.strictSame(v.select([2]).metadata, { trait: 'evil' });
});

t.test('withMetadata merges a patch and removes keys set to undefined', async (t) => {
  const v = PersonaVector.fromBlocks({ 1: [1] }, { trait: 'evil', method: 'pca' });
  const w = v.withMetadata({ method: undefined, coefficient: 1.5 });
  t.strictSame(w.metadata, { trait: 'evil', coefficient: 1.5 });
  t.strictSame(v.metadata, { trait: 'evil', method: 'pca' }, 'the original is unchanged');
});
