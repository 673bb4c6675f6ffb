import t from 'tap';
import { readGguf } from '../../lib/vector/gguf-reader';
import { ByteBuilder, KvSpec, TensorSpec, buildGguf, f32Bytes } from './helpers/gguf-bytes';

const ARCH: KvSpec = ['general.architecture', 'string', 'controlvector'];
const T1: TensorSpec = { name: 'direction.1', dims: [4], data: f32Bytes([1, 2, 3, 4]) };

function header(tensors: bigint, kvs: bigint): ByteBuilder {
  const w = new ByteBuilder();
  w.raw(Buffer.from('GGUF'));
  w.u32(3);
  w.u64(tensors);
  w.u64(kvs);
  return w;
}

/** A file with one key-value whose value bytes are given raw after the key. */
function oneKv(key: string | Uint8Array, rest: (w: ByteBuilder) => void): Buffer {
  const w = header(0n, 1n);
  w.str(key);
  rest(w);
  w.raw(new Uint8Array(64)); // slack, so that only the field under test is wrong
  return w.result();
}

// Each row: what is wrong, the bytes, and the pattern the ERR_BAD_FILE message must match, with
// the byte offset where the reader found the problem.
const CASES: Array<[string, () => Uint8Array, RegExp]> = [
  ['an empty buffer', () => new Uint8Array(0), /magic needs 4 bytes but only 0 remain \(at byte offset 0\)/],
  ['a wrong magic', () => Buffer.from('GGUFxxxx'.replace('GGUF', 'GGML')), /magic is 0x4c4d4747, expected "GGUF" \(at byte offset 0\)/],
  ['version 1', () => { const b = buildGguf({ kvs: [], tensors: [] }).bytes; b.writeUInt32LE(1, 4); return b; }, /version is 1, expected 2 or 3 \(GGUF v1 is not supported\) \(at byte offset 4\)/],
  ['a big-endian version', () => { const b = buildGguf({ kvs: [], tensors: [] }).bytes; b.writeUInt32BE(3, 4); return b; }, /big-endian/],
  ['a tensor count of 2^64-1', () => header(2n ** 64n - 1n, 0n).result(), /tensor count is 18446744073709551615, more than the limit 65536 \(at byte offset 8\)/],
  ['a key-value count of 2^40', () => header(0n, 2n ** 40n).result(), /key-value count is 1099511627776, more than the limit 65536 \(at byte offset 16\)/],
  ['counts that cannot fit the file', () => header(100n, 100n).result(), /100 tensors and 100 key-value pairs cannot fit in the 0 bytes that follow/],
  ['a key length of 2^63', () => { const w = header(0n, 1n); w.u64(2n ** 63n); w.raw(new Uint8Array(32)); return w.result(); }, /length of key 0 is 9223372036854775808, more than the limit 16777216 \(at byte offset 24\)/],
  ['a key longer than the file', () => { const w = header(0n, 1n); w.u64(1000n); w.raw(new Uint8Array(32)); return w.result(); }, /key 0 needs 1000 bytes but only 32 remain \(at byte offset 32\)/],
  ['an empty key', () => oneKv('', (w) => { w.u32(4); w.u32(1); }), /key 0 is empty \(at byte offset 24\)/],
  ['a key that is not UTF-8', () => oneKv(new Uint8Array([0x61, 0xff, 0x62]), (w) => { w.u32(4); w.u32(1); }), /key 0 is not valid UTF-8 \(at byte offset 24\)/],
  ['an overlong UTF-8 encoding', () => oneKv(new Uint8Array([0xc0, 0xaf]), (w) => { w.u32(4); w.u32(1); }), /not valid UTF-8/],
  ['a UTF-8 surrogate', () => oneKv(new Uint8Array([0xed, 0xa0, 0x80]), (w) => { w.u32(4); w.u32(1); }), /not valid UTF-8/],
  ['a string value that is not UTF-8', () => oneKv('k', (w) => { w.u32(8); w.str(new Uint8Array([0xfe])); }), /"k" is not valid UTF-8 \(at byte offset 37\)/],
  ['an unknown value type', () => oneKv('k', (w) => { w.u32(13); }), /"k" has unknown value type 13 \(at byte offset 33\)/],
  ['a bool of 2', () => oneKv('k', (w) => { w.u32(7); w.u8(2); }), /bool "k" is 2, expected 0 or 1 \(at byte offset 37\)/],
  ['an array of arrays', () => oneKv('k', (w) => { w.u32(9); w.u32(9); w.u64(1n); }), /"k" is an array of arrays, which is not supported \(at byte offset 37\)/],
  ['an array of an unknown type', () => oneKv('k', (w) => { w.u32(9); w.u32(77); w.u64(1n); }), /"k" has unknown array item type 77/],
  ['an array of 2^32 bytes in a small file', () => oneKv('k', (w) => { w.u32(9); w.u32(0); w.u64(2n ** 32n); }), /item count of "k" is 4294967296, more than the limit 4194304 \(at byte offset 41\)/],
  ['an array of a million floats in a small file', () => oneKv('k', (w) => { w.u32(9); w.u32(6); w.u64(1_000_000n); }), /array "k" claims 1000000 items of FLOAT32, more than the 64 remaining bytes can hold \(at byte offset 41\)/],
  ['an array of a million strings in a small file', () => oneKv('k', (w) => { w.u32(9); w.u32(8); w.u64(1_000_000n); }), /claims 1000000 items of STRING/],
  ['a duplicate key', () => buildGguf({ kvs: [ARCH, ['a', 'u32', 1], ['a', 'u32', 2]], tensors: [] }).bytes, /duplicate key "a"/],
  ['general.alignment of the wrong type', () => buildGguf({ kvs: [['general.alignment', 'i32', 32]], tensors: [] }).bytes, /general\.alignment must be UINT32, found INT32/],
  ['general.alignment that is not a power of two', () => buildGguf({ kvs: [['general.alignment', 'u32', 24]], tensors: [], alignment: 24 }).bytes, /general\.alignment is 24, not a power of two/],
  ['general.alignment of zero', () => buildGguf({ kvs: [['general.alignment', 'u32', 0]], tensors: [] }).bytes, /general\.alignment is 0, not a power of two/],
  ['a duplicate tensor name', () => buildGguf({ kvs: [ARCH], tensors: [T1, T1] }).bytes, /duplicate tensor name "direction\.1"/],
  ['an empty tensor name', () => buildGguf({ kvs: [], tensors: [{ ...T1, name: '' }] }).bytes, /tensor 0 has an empty name/],
  ['a tensor name of 64 bytes', () => buildGguf({ kvs: [], tensors: [{ ...T1, name: 'x'.repeat(64) }] }).bytes, /length of name of tensor 0 is 64, more than the limit 63/],
  ['five dimensions', () => buildGguf({ kvs: [], tensors: [{ ...T1, dims: [1, 1, 1, 1, 4] }] }).bytes, /has 5 dimensions, at most 4 allowed/],
  ['a dimension of 2^64-1', () => buildGguf({ kvs: [], tensors: [{ ...T1, dims: [2 ** 53] }] }).bytes, /dimension 0 is 9007199254740992, more than the limit 2147483647/],
  ['a zero dimension hiding a huge one', () => buildGguf({ kvs: [], tensors: [{ ...T1, dims: [0, 2 ** 40] }] }).bytes, /dimension 1 is 1099511627776, more than the limit/],
  ['dimensions whose product is too large', () => buildGguf({ kvs: [], tensors: [{ ...T1, dims: [65536, 65536] }] }).bytes, /has more than 2147483647 elements/],
  ['an unknown ggml type', () => buildGguf({ kvs: [], tensors: [{ ...T1, ggmlType: 4 }] }).bytes, /unknown ggml type 4/],
  ['rows that are not whole quantisation blocks', () => buildGguf({ kvs: [], tensors: [{ ...T1, ggmlType: 8, dims: [16] }] }).bytes, /type Q8_0 has rows of 16 elements, not a multiple of its block size 32/],
  ['a misaligned data offset', () => buildGguf({ kvs: [], tensors: [{ ...T1, offset: 4 }] }).bytes, /data offset 4 is not a multiple of the alignment 32/],
  ['a data offset past the end', () => buildGguf({ kvs: [], tensors: [{ ...T1, offset: 2 ** 40 }] }).bytes, /data offset 1099511627776 is past the end of the file/],
  ['data running past the end', () => buildGguf({ kvs: [], tensors: [{ ...T1, dims: [1000] }] }).bytes, /data \[0, 4000\) runs past the end of the data section \(32 bytes\)/],
  ['overlapping tensors', () => buildGguf({ kvs: [], tensors: [{ ...T1, dims: [16], data: new Uint8Array(64) }, { ...T1, name: 'b', offset: 32 }] }).bytes, /tensor "b" data overlaps tensor "direction\.1"/],
  ['a data section past the end of the file', () => buildGguf({ kvs: [], tensors: [T1] }).bytes.subarray(0, 80), /data section would start at 96 \(alignment 32\), past the end of the file \(80 bytes\)/],
];

for (const [what, bytes, pattern] of CASES) {
  t.test(`a file with ${what} is refused with ERR_BAD_FILE naming the problem and offset`, async (t) => {
    t.throws(() => readGguf(bytes()), { code: 'ERR_BAD_FILE', message: pattern });
  });
}

t.test('a value of every type is read back from hand-built bytes', async (t) => {
  const file = readGguf(buildGguf({
    kvs: [['a', 'u8', 255], ['b', 'i32', -5], ['c', 'f64', 0.1], ['d', 'i64', -(2n ** 63n)], ['e', 'bool', true],
      ['f', 'string[]', ['x', 'ÿ']], ['g', 'u64', 2n ** 64n - 1n]],
    tensors: [],
  }).bytes);
  t.strictSame([...file.metadata.values()].map((v) => v.value), [255, -5, 0.1, -(2n ** 63n), true, ['x', 'ÿ'], 2n ** 64n - 1n]);
});

t.test('readGguf rejects a string argument with ERR_INVALID_ARG', async (t) => {
  t.throws(() => readGguf('GGUF' as unknown as Uint8Array), { code: 'ERR_INVALID_ARG', message: /^bytes must be a Uint8Array or Buffer; received "GGUF"/ });
});

t.test('bytes in shared memory are read like any other bytes', async (t) => {
  const bytes = buildGguf({ kvs: [ARCH], tensors: [T1] }).bytes;
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
  shared.set(bytes);
  const file = readGguf(shared);
  t.strictSame(Array.from(file.tensors[0]!.data!), [1, 2, 3, 4]);
  t.equal(file.metadata.get('general.architecture')!.value, 'controlvector');
});
