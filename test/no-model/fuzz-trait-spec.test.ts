import t from 'tap';
import { TraitSpec, parseTraitSpec, parseTraitSpecJson } from '../../lib/persona/trait-spec';
import { Prng } from './helpers/prng';
import { report, runFuzz } from './helpers/fuzz-harness';

// Every mutated trait-spec text must give ERR_BAD_SPEC or a valid spec; never another exception.
const CASES = 12_000;
const SEED = 0x7a17;
const MEMORY_BOUND_MB = 200;

const WORDS = ['evil', 'kind', 'You are', 'an assistant', 'How', 'why?', 'ünï', '😀', '"quoted"', 'back\\slash', 'tab\there'];

function sentence(r: Prng): string {
  return Array.from({ length: r.int(1, 6) }, () => r.pick(WORDS)).join(' ') + ` ${r.int(0, 1e6)}`;
}

function randomSpec(r: Prng): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    name: r.pick(['evil', 'sycophancy', 'hallucination', 'humour']),
    description: sentence(r),
    pairs: Array.from({ length: r.int(1, 5) }, () => ({ positive: sentence(r), negative: sentence(r) })),
    extractionQuestions: Array.from({ length: r.int(1, 8) }, () => sentence(r)),
  };
  if (r.bool()) spec.evaluationQuestions = Array.from({ length: r.int(1, 8) }, () => sentence(r));
  if (r.bool()) spec.judge = r.bool(0.8) ? { rubric: sentence(r) } : {};
  return spec;
}

type Node = { parent: Record<string, unknown> | unknown[]; key: string | number };

/** Every value in the spec with its parent, down to a depth that a deep-nesting mutation cannot blow up. */
function nodes(v: unknown, out: Node[] = [], depth = 0): Node[] {
  if (depth > 8) return out;
  if (Array.isArray(v)) v.forEach((x, i) => { out.push({ parent: v, key: i }); nodes(x, out, depth + 1); });
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) { out.push({ parent: v as Record<string, unknown>, key: k }); nodes(x, out, depth + 1); }
  }
  return out;
}

function set(n: Node, value: unknown): void {
  (n.parent as Record<string | number, unknown>)[n.key] = value;
}

const OBJECT_MUTATIONS: Array<(r: Prng, spec: Record<string, unknown>) => unknown> = [
  (r, s) => { const n = r.pick(nodes(s)); if (Array.isArray(n.parent)) n.parent.splice(Number(n.key), 1); else delete n.parent[n.key as string]; return s; },
  (r, s) => { const objs = [s, ...nodes(s).map((n) => (n.parent as Record<string, unknown[]>)[n.key as string]).filter((x) => x && typeof x === 'object' && !Array.isArray(x))] as Record<string, unknown>[]; r.pick(objs)[r.pick(['extra', '__proto__', 'constructor', 'Name'])] = 1; return s; },
  (r, s) => { set(r.pick(nodes(s)), r.pick([null, 0, -1, 1.5, true, false, [], {}, [1], { a: 1 }, '', '   ', '\u0000', 'x'])); return s; },
  (r, s) => { const qs = s.extractionQuestions as unknown[]; if (Array.isArray(qs) && qs.length > 0) qs.push(r.pick(qs)); return s; },
  (r, s) => { const ps = s.pairs as Array<Record<string, unknown>>; if (Array.isArray(ps) && ps[0] !== null && typeof ps[0] === 'object') ps[0].negative = ps[0].positive; return s; },
  (r, s) => { const ps = s.pairs as unknown[]; if (Array.isArray(ps) && ps.length > 0) ps.push(r.pick(ps)); return s; },
  (r, s) => { set(r.pick(nodes(s)), r.bool(0.05) ? Array.from({ length: 10_001 }, (_, i) => `q${i}`) : 'q'.repeat(r.bool(0.05) ? 100_001 : r.int(0, 300))); return s; },
  (r, s) => { let deep: unknown = 'x'; for (let d = r.int(1, 1000); d > 0; d--) deep = [deep]; set(r.pick(nodes(s)), deep); return s; },
  () => r0.pick([[], null, 'spec', 42, true]),
];
const r0 = new Prng(1);

const INSERTS = ['"', '{', '}', '[', ']', ',', ':', '\\', ' ', '\n', '\u0000', 'a', '0', '-', 'e', '\\u0000', '\\ud800', '\\udc00', 'null', 'true', '\u2028', '😀', '\ud800'];

const TEXT_MUTATIONS: Array<(r: Prng, s: string) => string> = [
  (r, s) => { const i = r.int(0, s.length); return s.slice(0, i) + s.slice(i + r.int(1, 4)); },
  (r, s) => { const i = r.int(0, s.length); return s.slice(0, i) + r.pick(INSERTS) + s.slice(i); },
  (r, s) => { const i = r.int(0, Math.max(0, s.length - 1)); return s.slice(0, i) + r.pick(INSERTS) + s.slice(i + 1); },
  (r, s) => s.slice(0, r.int(0, s.length)),
  (r, s) => { const a = r.int(0, s.length); const b = Math.min(s.length, a + r.int(1, 40)); const at = r.int(0, s.length); return s.slice(0, at) + s.slice(a, b) + s.slice(at); },
  (r, s) => s.replace(/"name"/, r.pick(['"name", "name": 1', '"nam\\u0065"', '"name":"x","name"'])),
];

const BAD_BYTES = [[0xff], [0xc0, 0x80], [0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]];

interface Case { input: string | Uint8Array; seed: number; how: string }

function makeCase(i: number): Case {
  const seed = (SEED + i * 2246822519) >>> 0;
  const r = new Prng(seed);
  let spec: unknown = randomSpec(r);
  const how: string[] = [];
  const nObj = r.bool(0.3) ? 0 : r.int(1, 2);
  for (let k = 0; k < nObj; k++) {
    const m = r.int(0, OBJECT_MUTATIONS.length - 1);
    if (spec !== null && typeof spec === 'object' && !Array.isArray(spec) && nodes(spec).length > 0) {
      spec = OBJECT_MUTATIONS[m]!(r, spec as Record<string, unknown>);
      how.push(`obj${m}`);
    }
  }
  // Indentation of deeply nested values grows quadratically; keep those compact.
  const indent = r.bool() && !how.includes('obj7') ? 2 : undefined;
  let text = JSON.stringify(spec, null, indent);
  const nText = r.bool(0.5) ? 0 : r.int(1, 3);
  for (let k = 0; k < nText; k++) {
    const m = r.int(0, TEXT_MUTATIONS.length - 1);
    text = TEXT_MUTATIONS[m]!(r, text);
    how.push(`text${m}`);
  }
  if (r.bool(0.1)) {
    const bytes = Buffer.from(text, 'utf8');
    const at = r.int(0, bytes.length);
    how.push('bytes');
    return { input: Buffer.concat([bytes.subarray(0, at), Buffer.from(r.pick(BAD_BYTES)), bytes.subarray(at)]), seed, how: how.join(',') };
  }
  return { input: text, seed, how: how.join(',') };
}

function check(spec: TraitSpec): 'valid' {
  // An accepted spec must survive serialisation and re-validation unchanged.
  const again = parseTraitSpec(JSON.parse(JSON.stringify(spec)));
  if (JSON.stringify(again) !== JSON.stringify(spec)) throw new Error('re-parsing changed the spec');
  if (spec.pairs.length < 1 || spec.extractionQuestions.length < 1 || !Object.isFrozen(spec)) throw new Error('an accepted spec breaks an invariant');
  return 'valid';
}

t.test(`${CASES} mutated trait-spec texts each give ERR_BAD_SPEC or a valid spec, within ${MEMORY_BOUND_MB} MB`, async (t) => {
  const stats = runFuzz({
    cases: CASES,
    make: makeCase,
    run: (c) => check(parseTraitSpecJson(c.input)),
    expectedCode: 'ERR_BAD_SPEC',
    describe: (c) => `seed ${c.seed}, mutations [${c.how}]: ${String(typeof c.input === 'string' ? c.input : Buffer.from(c.input).toString('hex')).slice(0, 120)}`,
  });
  t.comment(report('trait-spec fuzz', stats));
  t.strictSame(stats.failures, [], 'no other exception');
  t.equal(stats.outcomes.valid! + stats.outcomes.ERR_BAD_SPEC!, CASES, 'every case is one of the two outcomes');
  t.ok(stats.outcomes.valid! > CASES * 0.05, 'valid specs are among the cases, so acceptance is exercised');
  t.ok(stats.outcomes.ERR_BAD_SPEC! > CASES * 0.3, 'most mutations are refused');
  t.ok(stats.peakRssGrowthMb < MEMORY_BOUND_MB, `rss growth ${stats.peakRssGrowthMb.toFixed(1)} MB`);
  t.ok(stats.peakHeapGrowthMb < MEMORY_BOUND_MB, `heap kept ${stats.peakHeapGrowthMb.toFixed(1)} MB`);
  t.ok(stats.maxCaseMs < 2000, `slowest case ${stats.maxCaseMs.toFixed(1)} ms`);
});
