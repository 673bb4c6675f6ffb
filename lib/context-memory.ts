// How much memory a context will take, estimated from the model's shape before llama.cpp
// allocates anything, and the check that refuses a context the machine cannot hold. On the CPU
// llama.cpp reserves its buffers as untouched (lazily committed) memory: a context that cannot
// fit is created without complaint and only fails, or drives the machine into swap, as it fills.
// Measured against llama.cpp's own buffer sizes (test/small-model/context-memory.test.ts).
import os from 'node:os';
import { ErrorCodes, PersonaSteerError } from './errors';

export interface ContextShape {
  embeddingSize: number;
  blockCount: number;
  headCount: number;
  headCountKv: number;
  vocabularySize: number;
}

export interface ContextSizes {
  /** Cells per sequence (the cache holds contextSize x sequences). */
  contextSize: number;
  batchSize: number;
  sequences: number;
  flashAttention: boolean;
}

export interface ContextMemory {
  /** K and V in F16 for every block and cell. */
  kvCache: number;
  /** The graph's scratch memory at its peak (one ubatch = batchSize tokens). */
  compute: number;
  /** Logits kept for the sequences. */
  output: number;
  total: number;
}

// llama.cpp rounds the cache up to a multiple of 256 cells.
const CELL_PAD = 256;
// Per token of a batch, what a block's activations take at most (residual, norms, Q/K/V, the
// feed-forward's gate and up projections), in floats per embedding dimension. Above what llama.cpp
// reserves for the bundled models (6 to 7), with room for wider feed-forward layers.
const ACTIVATION_FLOATS_PER_EMBD = 16;

/** Cells of the cache: every sequence's. */
function cellsOf(sizes: ContextSizes): number {
  return Math.ceil((sizes.contextSize * sizes.sequences) / CELL_PAD) * CELL_PAD;
}

/**
 * Cells one batch attends to: llama.cpp reserves (and, measured, keeps) its attention buffers for
 * one sequence's cells, also when a batch mixes the sequences of a unified cache.
 */
function attendedCells(sizes: ContextSizes): number {
  return Math.ceil(sizes.contextSize / CELL_PAD) * CELL_PAD;
}

/**
 * Bytes a context will take besides the model's weights (CPU buffers; no flash attention: the
 * attention scores of a whole batch against the whole cache are one F32 tensor per head).
 */
export function estimateContextMemory(shape: ContextShape, sizes: ContextSizes): ContextMemory {
  const cells = cellsOf(sizes);
  const attended = attendedCells(sizes);
  const heads = Math.max(1, shape.headCount);
  const headDim = shape.embeddingSize / heads;
  const kvDim = headDim * Math.max(1, shape.headCountKv);
  const kvCache = cells * shape.blockCount * 2 * kvDim * 2;
  const ub = sizes.batchSize;
  // Attention: scores (F32, one matrix per head) and the mask (F32), or with flash attention only the
  // mask (F16). The output projection reuses that memory when it is freed, so the peak is the larger.
  const attention = sizes.flashAttention ? ub * attended * 2 : ub * attended * 4 * (heads + 1);
  const logits = ub * shape.vocabularySize * 4;
  const compute = Math.max(attention, logits) + ub * ACTIVATION_FLOATS_PER_EMBD * shape.embeddingSize * 4;
  const output = sizes.sequences * shape.vocabularySize * 4;
  return { kvCache, compute, output, total: kvCache + compute + output };
}

/** Memory this process can still use: the system's available memory, within a cgroup limit if any. */
export function availableMemoryBytes(): number {
  // On Linux os.freemem() is MemAvailable (free plus reclaimable cache).
  let available = os.freemem();
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  if (constrained !== undefined && constrained > 0 && constrained < 2 ** 60) {
    available = Math.min(available, Math.max(0, constrained - process.memoryUsage.rss()));
  }
  return available;
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(b < 2 ** 30 ? 3 : 1)} GiB`;

/**
 * Throws ERR_CONTEXT_CREATE when the context's estimated memory exceeds what is available.
 * Contexts whose buffers live on a GPU are not checked here (llama.cpp allocates device memory at
 * once and reports a failure itself).
 */
export function checkContextMemory(shape: ContextShape, sizes: ContextSizes, onGpu: boolean,
  available: number = availableMemoryBytes()): void {
  if (onGpu) return;
  const m = estimateContextMemory(shape, sizes);
  if (m.total <= available) return;
  const scores = sizes.flashAttention ? '' : ` (attention scores: ${sizes.batchSize} x ${attendedCells(sizes)} x ${shape.headCount} heads x 4 bytes)`;
  const seqs = sizes.sequences > 1 ? ` x ${sizes.sequences} sequences` : '';
  throw new PersonaSteerError(ErrorCodes.CONTEXT_CREATE,
    `a context of ${sizes.contextSize} tokens${seqs} with batchSize ${sizes.batchSize} needs about ${gib(m.total)} ` +
    `(KV cache ${gib(m.kvCache)}, compute buffers ${gib(m.compute)}${scores}), more than the ${gib(available)} of memory available; ` +
    `use a smaller batchSize or contextSize${sizes.flashAttention ? '' : ', or flashAttention: true'}`);
}
