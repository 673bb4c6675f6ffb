// Constants and value types shared by the GGUF reader and writer.
// Layout reference: ggml's docs/gguf.md and ggml/src/gguf.cpp (the vendored llama.cpp).

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;
export const GGUF_ALIGNMENT_KEY = 'general.alignment';
/** ggml's GGML_MAX_DIMS: llama.cpp refuses tensors with more dimensions. */
export const GGUF_MAX_DIMS = 4;
/** ggml's GGML_MAX_NAME: llama.cpp refuses tensor names of this many bytes or more. */
export const GGUF_MAX_TENSOR_NAME_BYTES = 63;

export enum GgufType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

export type GgufNumberType =
  | GgufType.UINT8 | GgufType.INT8 | GgufType.UINT16 | GgufType.INT16
  | GgufType.UINT32 | GgufType.INT32 | GgufType.FLOAT32 | GgufType.FLOAT64;
export type GgufBigIntType = GgufType.UINT64 | GgufType.INT64;
export type GgufScalarType = GgufNumberType | GgufBigIntType | GgufType.BOOL | GgufType.STRING;

/**
 * One metadata value. 64-bit integers are bigints so that no value loses precision; arrays are
 * homogeneous and, as in llama.cpp, never nested.
 */
export type GgufValue =
  | { readonly type: GgufNumberType; readonly value: number }
  | { readonly type: GgufBigIntType; readonly value: bigint }
  | { readonly type: GgufType.BOOL; readonly value: boolean }
  | { readonly type: GgufType.STRING; readonly value: string }
  | { readonly type: GgufType.ARRAY; readonly itemType: GgufNumberType; readonly value: readonly number[] }
  | { readonly type: GgufType.ARRAY; readonly itemType: GgufBigIntType; readonly value: readonly bigint[] }
  | { readonly type: GgufType.ARRAY; readonly itemType: GgufType.BOOL; readonly value: readonly boolean[] }
  | { readonly type: GgufType.ARRAY; readonly itemType: GgufType.STRING; readonly value: readonly string[] };

/** Encoded size of the fixed-size value types; strings and arrays are variable. */
export const FIXED_SIZE: Readonly<Partial<Record<GgufType, number>>> = {
  [GgufType.UINT8]: 1, [GgufType.INT8]: 1, [GgufType.BOOL]: 1,
  [GgufType.UINT16]: 2, [GgufType.INT16]: 2,
  [GgufType.UINT32]: 4, [GgufType.INT32]: 4, [GgufType.FLOAT32]: 4,
  [GgufType.UINT64]: 8, [GgufType.INT64]: 8, [GgufType.FLOAT64]: 8,
};

export function ggufTypeName(type: number): string {
  return GgufType[type] ?? `unknown(${type})`;
}

/** ggml tensor types that are F32; everything else is read as metadata only. */
export const GGML_TYPE_F32 = 0;

/**
 * ggml type id -> [elements per block, bytes per block], from ggml.c's type_traits (sizes of the
 * block structs printed from the vendored ggml-common.h). Removed ids (4, 5, 31-33, 36-38) are
 * absent, so a tensor of such a type is refused: its byte size cannot be known.
 */
export const GGML_TYPES: ReadonlyMap<number, { name: string; blockSize: number; typeSize: number }> = new Map(
  ([
    [0, 'F32', 1, 4], [1, 'F16', 1, 2], [2, 'Q4_0', 32, 18], [3, 'Q4_1', 32, 20],
    [6, 'Q5_0', 32, 22], [7, 'Q5_1', 32, 24], [8, 'Q8_0', 32, 34], [9, 'Q8_1', 32, 36],
    [10, 'Q2_K', 256, 84], [11, 'Q3_K', 256, 110], [12, 'Q4_K', 256, 144], [13, 'Q5_K', 256, 176],
    [14, 'Q6_K', 256, 210], [15, 'Q8_K', 256, 292], [16, 'IQ2_XXS', 256, 66], [17, 'IQ2_XS', 256, 74],
    [18, 'IQ3_XXS', 256, 98], [19, 'IQ1_S', 256, 50], [20, 'IQ4_NL', 32, 18], [21, 'IQ3_S', 256, 110],
    [22, 'IQ2_S', 256, 82], [23, 'IQ4_XS', 256, 136], [24, 'I8', 1, 1], [25, 'I16', 1, 2],
    [26, 'I32', 1, 4], [27, 'I64', 1, 8], [28, 'F64', 1, 8], [29, 'IQ1_M', 256, 56],
    [30, 'BF16', 1, 2], [34, 'TQ1_0', 256, 54], [35, 'TQ2_0', 256, 66], [39, 'MXFP4', 32, 17],
    [40, 'NVFP4', 64, 36], [41, 'Q1_0', 128, 18], [42, 'Q2_0', 64, 18],
  ] as const).map(([id, name, blockSize, typeSize]) => [id, { name, blockSize, typeSize }]),
);

export function alignUp(n: number, alignment: number): number {
  const r = n % alignment;
  return r === 0 ? n : n + (alignment - r);
}

/** Constructors for metadata values, so callers need not spell out the tagged objects. */
export const GgufValues = {
  u8: (value: number): GgufValue => ({ type: GgufType.UINT8, value }),
  i8: (value: number): GgufValue => ({ type: GgufType.INT8, value }),
  u16: (value: number): GgufValue => ({ type: GgufType.UINT16, value }),
  i16: (value: number): GgufValue => ({ type: GgufType.INT16, value }),
  u32: (value: number): GgufValue => ({ type: GgufType.UINT32, value }),
  i32: (value: number): GgufValue => ({ type: GgufType.INT32, value }),
  f32: (value: number): GgufValue => ({ type: GgufType.FLOAT32, value }),
  f64: (value: number): GgufValue => ({ type: GgufType.FLOAT64, value }),
  u64: (value: bigint): GgufValue => ({ type: GgufType.UINT64, value }),
  i64: (value: bigint): GgufValue => ({ type: GgufType.INT64, value }),
  bool: (value: boolean): GgufValue => ({ type: GgufType.BOOL, value }),
  string: (value: string): GgufValue => ({ type: GgufType.STRING, value }),
  numberArray: (itemType: GgufNumberType, value: readonly number[]): GgufValue =>
    ({ type: GgufType.ARRAY, itemType, value }),
  bigintArray: (itemType: GgufBigIntType, value: readonly bigint[]): GgufValue =>
    ({ type: GgufType.ARRAY, itemType, value }),
  boolArray: (value: readonly boolean[]): GgufValue => ({ type: GgufType.ARRAY, itemType: GgufType.BOOL, value }),
  stringArray: (value: readonly string[]): GgufValue => ({ type: GgufType.ARRAY, itemType: GgufType.STRING, value }),
} as const;
