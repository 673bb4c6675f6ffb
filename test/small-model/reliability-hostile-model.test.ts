import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rng } from '../helpers/math';
import { requireModel, stories260K } from '../helpers/models';
import { walkGguf, type FieldKind } from '../fixtures/lifecycle/gguf-fields';
import { describeExit, records, runChild } from '../fixtures/lifecycle/spawn';

// Corrupt and truncated copies of stories260K: each gives ERR_MODEL_LOAD or loads (and then
// tokenizes, creates a context and generates, failing only with typed errors), never a crash or a
// hang. The files are loaded in a child process; when it dies, the case it was on is reported and
// a new child goes on with the next case.

const original = fs.readFileSync(requireModel(stories260K));
const layout = walkGguf(original);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-hostile-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Case { name: string; bytes: Buffer }
const cases: Case[] = [];
const rand = rng(0x5eed);
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo)); // [lo, hi)

// 1. Truncations: inside the fixed header, the key/values, the tensor infos, and the data.
for (const n of [0, 3, 4, 8, 16, 23, 24]) cases.push({ name: `truncated to ${n} bytes`, bytes: original.subarray(0, n) });
for (let k = 0; k < 4; k++) { const n = int(24, layout.kvEnd); cases.push({ name: `truncated in the key/values at ${n}`, bytes: original.subarray(0, n) }); }
for (let k = 0; k < 2; k++) { const n = int(layout.kvEnd, layout.headerEnd); cases.push({ name: `truncated in the tensor infos at ${n}`, bytes: original.subarray(0, n) }); }
cases.push({ name: 'truncated at the end of the header', bytes: original.subarray(0, layout.headerEnd) });
cases.push({ name: 'truncated at the start of the data', bytes: original.subarray(0, layout.dataStart) });
for (let k = 0; k < 2; k++) { const n = int(layout.dataStart + 1, original.length); cases.push({ name: `truncated in the tensor data at ${n}`, bytes: original.subarray(0, n) }); }
cases.push({ name: 'one byte short', bytes: original.subarray(0, original.length - 1) });

// 2. Random byte flips in the header.
for (let k = 0; k < 12; k++) {
  const b = Buffer.from(original);
  const flips = int(1, 5);
  const at: number[] = [];
  for (let f = 0; f < flips; f++) { const p = int(4, layout.headerEnd); b[p] ^= int(1, 256); at.push(p); }
  cases.push({ name: `header bytes flipped at ${at.join(', ')}`, bytes: b });
}

// 3. Header fields set to extreme values: one case per kind of field, then random ones.
const EXTREMES = ['zero', 'one', 'all-ones', 'max-signed', 'plus-one', 'minus-one', 'doubled'] as const;
function setField(b: Buffer, offset: number, size: number, how: (typeof EXTREMES)[number]): string {
  const old = size === 8 ? b.readBigUInt64LE(offset) : BigInt(b.readUInt32LE(offset));
  const mask = size === 8 ? (1n << 64n) - 1n : (1n << 32n) - 1n;
  const v = { zero: 0n, one: 1n, 'all-ones': mask, 'max-signed': mask >> 1n, 'plus-one': old + 1n, 'minus-one': old - 1n, doubled: old * 2n }[how] & mask;
  if (size === 8) b.writeBigUInt64LE(v, offset); else b.writeUInt32LE(Number(v), offset);
  return `${old} -> ${v}`;
}
const kinds = [...new Set(layout.fields.map((f) => f.kind))] as FieldKind[];
const fieldCases: [FieldKind, number][] = kinds.map((k) => [k, 0]);
for (let k = 0; k < 6; k++) fieldCases.push([kinds[int(0, kinds.length)], 1]);
for (const [kind] of fieldCases) {
  const of = layout.fields.filter((f) => f.kind === kind);
  const f = of[int(0, of.length)];
  if (f.size !== 4 && f.size !== 8) continue; // bools and bytes: covered by the flips
  const how = EXTREMES[int(0, EXTREMES.length)];
  const b = Buffer.from(original);
  const change = setField(b, f.offset, f.size, how);
  cases.push({ name: `${kind} at ${f.offset} set to ${how} (${change})`, bytes: b });
}

// 4. The tensor data: random flips, and runs of NaN and Infinity in the weights.
for (let k = 0; k < 3; k++) {
  const b = Buffer.from(original);
  for (let f = 0; f < 16; f++) b[int(layout.dataStart, b.length)] ^= int(1, 256);
  cases.push({ name: `16 weight bytes flipped (set ${k})`, bytes: b });
}
for (const [label, bits] of [['NaN', 0x7fc00000], ['Infinity', 0x7f800000], ['-Infinity', 0xff800000]] as const) {
  const b = Buffer.from(original);
  const start = layout.dataStart + 4 * int(0, (b.length - layout.dataStart) / 4 - 256);
  for (let k = 0; k < 256; k++) b.writeUInt32LE(bits, start + 4 * k);
  cases.push({ name: `256 weights set to ${label} at ${start}`, bytes: b });
}
cases.push({ name: 'every weight NaN', bytes: Buffer.concat([original.subarray(0, layout.dataStart), Buffer.alloc(original.length - layout.dataStart, 0xff)]) });
cases.push({ name: 'a second copy appended', bytes: Buffer.concat([original, original]) });

const files = cases.map((c, i) => {
  const f = path.join(dir, `case-${String(i).padStart(3, '0')}.gguf`);
  fs.writeFileSync(f, c.bytes);
  return f;
});

interface Done { i: number; load: string; use?: string; generated?: number[]; tokens?: number }

t.test(`${cases.length} corrupt model files give ERR_MODEL_LOAD or load, never a crash`, async (t) => {
  t.ok(cases.length >= 48, `${cases.length} cases`);
  const results = new Map<number, Done>();
  const crashes: string[] = [];
  let start = 0;
  let children = 0;
  while (start < files.length) {
    children++;
    const r = await runChild('load-models.js', [String(start), ...files], { timeoutMs: 60_000 });
    for (const d of records<Done>(r.stdout, 'DONE')) results.set(d.i, d);
    if (r.code === 0 && !r.timedOut) break;
    const started = records<{ i: number }>(r.stdout, 'CASE');
    const at = started.length > 0 ? started[started.length - 1].i : start;
    crashes.push(`case ${at} (${cases[at].name}): ${describeExit(r)}`);
    start = at + 1;
  }
  t.same(crashes, [], 'no case crashed or hung the process');
  t.equal(results.size, cases.length - crashes.length, 'every other case reported');
  const tally: Record<string, number> = {};
  for (const [i, d] of results) {
    const outcome = d.load === 'ok' ? (d.use ? `loaded, then ${d.use}` : 'loaded and generated') : d.load;
    tally[outcome] = (tally[outcome] ?? 0) + 1;
    t.ok(d.load === 'ok' || d.load === 'ERR_MODEL_LOAD', `case ${i} (${cases[i].name}): load gave ${d.load}`);
    if (d.use !== undefined) t.notOk(d.use.startsWith('untyped'), `case ${i} (${cases[i].name}): using it failed with a typed error (${d.use})`);
  }
  t.comment(`outcomes: ${JSON.stringify(tally)}; ${children} child process(es)`);
  t.ok((tally.ERR_MODEL_LOAD ?? 0) >= 20, 'most header corruptions are refused');
  t.ok((tally['loaded and generated'] ?? 0) >= 5, 'weight corruptions load and run');
});
