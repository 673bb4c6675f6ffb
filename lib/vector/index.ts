// Public surface of the vector layer: persona vectors, control-vector files, GGUF access.

export { PersonaVector, type BlockInput } from './persona-vector';
export { type PersonaVectorMetadata, type VectorSource, MAX_BLOCK, MAX_EMBEDDING_SIZE } from './vector-metadata';
export {
  readControlVector, writeControlVector, decodeControlVector, encodeControlVector, checkVectorFitsModel,
  type ReadControlVectorOptions, type ModelShape,
} from './control-vector-file';
export { readGguf, DEFAULT_GGUF_LIMITS, type GgufFile, type GgufTensor, type GgufLimits } from './gguf-reader';
export { encodeGguf, type GgufTensorInput, type GgufWriteInput } from './gguf-writer';
export { GgufType, GgufValues, type GgufValue } from './gguf-format';
