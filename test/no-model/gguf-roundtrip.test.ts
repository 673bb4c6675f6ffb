import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeGguf } from '../../lib/vector/gguf-writer';
import { readGguf } from '../../lib/vector/gguf-reader';
import { GgufType, GgufValue, GgufValues as V } from '../../lib/vector/gguf-format';
import { Prng } from './helpers/prng';

const fixtures = join(__dirname, '..', 'fixtures');

function bitsOf(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

/** Random metadata covering every scalar type and every array item type. */
function randomMetadata(r: Prng): Array<[string, GgufValue]> {
  const str = (): string => r.pick(['', 'a', 'controlvector', 'Ünïcødé ✓', '𝔘𝔫𝔦', 'x'.repeat(r.int(0, 300))]);
  const scalars: Array<() => GgufValue> = [
    () => V.u8(r.int(0, 255)), () => V.i8(r.int(-128, 127)),
    () => V.u16(r.int(0, 65535)), () => V.i16(r.int(-32768, 32767)),
    () => V.u32(r.int(0, 0xffffffff)), () => V.i32(r.int(-0x80000000, 0x7fffffff)),
    () => V.f32(r.f32()), () => V.f64(r.next() * 1e300 - 5e299),
    () => V.u64(BigInt(r.int(0, 0xffffffff)) * 0x100000000n + BigInt(r.int(0, 0xffffffff))),
    () => V.i64(-(BigInt(r.int(0, 0x7fffffff)) * 0x100000000n) - BigInt(r.int(0, 0xffffffff))),
    () => V.bool(r.bool()), () => V.string(str()),
  ];
  const arrays: Array<() => GgufValue> = [
    () => V.numberArray(GgufType.FLOAT32, Array.from({ length: r.int(0, 20) }, () => r.f32())),
    () => V.numberArray(GgufType.INT32, Array.from({ length: r.int(0, 20) }, () => r.int(-1000, 1000))),
    () => V.numberArray(GgufType.UINT8, Array.from({ length: r.int(0, 20) }, () => r.int(0, 255))),
    () => V.numberArray(GgufType.FLOAT64, Array.from({ length: r.int(0, 20) }, () => r.next())),
    () => V.bigintArray(GgufType.INT64, Array.from({ length: r.int(0, 5) }, () => BigInt(r.int(-1e9, 1e9)))),
    () => V.boolArray(Array.from({ length: r.int(0, 9) }, () => r.bool())),
    () => V.stringArray(Array.from({ length: r.int(0, 9) }, str)),
  ];
  const out: Array<[string, GgufValue]> = [];
  const n = r.int(1, 25);
  for (let i = 0; i < n; i++) out.push([`k.${i}.${r.int(0, 1e6)}`, r.bool(0.7) ? r.pick(scalars)() : r.pick(arrays)()]);
  return out;
}

t.test('random metadata and F32 tensors survive encode then read with every bit intact', async (t) => {
  const r = new Prng(0xc0ffee);
  for (let round = 0; round < 50; round++) {
    const metadata = randomMetadata(r);
    const tensors = Array.from({ length: r.int(0, 6) }, (_, i) => {
      const data = new Float32Array(r.int(1, 70)).map(() => r.f32());
      return { name: `direction.${i}`, data };
    });
    const version = r.bool() ? 2 : 3;
    const file = readGguf(encodeGguf({ version, metadata, tensors }));
    t.equal(file.version, version);
    t.strictSame([...file.metadata.entries()], metadata, `round ${round}: metadata`);
    t.equal(file.tensors.length, tensors.length);
    file.tensors.forEach((ft, i) => {
      t.equal(ft.name, tensors[i]!.name);
      t.same(ft.dims, [tensors[i]!.data.length]);
      t.same(bitsOf(ft.data!), bitsOf(tensors[i]!.data), `round ${round}: tensor ${i} bits`);
    });
  }
});

t.test('NaN payloads, signed zeros and subnormals in tensor data keep their exact bits', async (t) => {
  const bits = new Uint32Array([0x7fc00001, 0xffbfffff, 0x80000000, 0x00000001, 0x7f7fffff, 0x7f800000]);
  const data = new Float32Array(bits.buffer);
  const file = readGguf(encodeGguf({ tensors: [{ name: 't', data }] }));
  t.same(bitsOf(file.tensors[0]!.data!), Array.from(bits));
});

t.test('general.alignment set to 64 places every tensor on a 64-byte boundary', async (t) => {
  const bytes = encodeGguf({
    metadata: [['general.alignment', V.u32(64)]],
    tensors: [{ name: 'a', data: new Float32Array(3) }, { name: 'b', data: new Float32Array(5).fill(2) }],
  });
  const file = readGguf(bytes);
  t.equal(file.alignment, 64);
  t.equal(file.dataOffset % 64, 0);
  t.same(file.tensors.map((x) => x.offset), [0, 64]);
  t.same(Array.from(file.tensors[1]!.data!), [2, 2, 2, 2, 2]);
});

t.test('non-F32 tensors are listed with their type and size but without data', async (t) => {
  // Q8_0: 32 elements per 34-byte block.
  const bytes = encodeGguf({ tensors: [{ name: 'q', type: 8, dims: [64, 2], bytes: new Uint8Array(4 * 34) }] });
  const [q] = readGguf(bytes).tensors;
  t.equal(q!.typeName, 'Q8_0');
  t.equal(q!.byteLength, 136);
  t.equal(q!.data, undefined);
});

t.test('the writer produces the same bytes as the independent Python fixture writer', async (t) => {
  // scripts/make-cv-fixture.py, mimicking cvector-generator: values ((il*37 + j*11) % 29 - 14) / 8, -0 at [1][0].
  const blocks = [1, 2, 3, 4, 5];
  const tensors = blocks.map((il) => {
    const data = new Float32Array(16).map((_, j) => (((il * 37 + j * 11) % 29) - 14) / 8);
    if (il === 1) data[0] = -0;
    return { name: `direction.${il}`, data };
  });
  const ours = encodeGguf({
    metadata: [
      ['general.architecture', V.string('controlvector')],
      ['controlvector.model_hint', V.string('llama')],
      ['controlvector.layer_count', V.i32(5)],
    ],
    tensors,
  });
  t.ok(ours.equals(readFileSync(join(fixtures, 'cvector-generator.gguf'))));
});
