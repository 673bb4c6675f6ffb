// The server's vectors, by name. Requests only ever name a vector; where it came from (a file in
// --vectors, the built-in toy set, an upload, an extraction) stays on the server. Every vector is
// checked against the served model when it joins.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ErrorCodes, PersonaSteerError } from '../errors';
import type { Model } from '../model';
import { decodeControlVector } from '../vector/control-vector-format';
import { checkVectorFitsModel } from '../vector/model-fit';
import type { PersonaVector } from '../vector/persona-vector';
import { capThresholdBlocks } from '../vector/vector-metadata';
import { ApiError, fromLibraryError } from './errors';

export type VectorOrigin = 'builtin' | 'directory' | 'upload' | 'extracted';

export interface VectorEntry {
  name: string;
  vector: PersonaVector;
  origin: VectorOrigin;
  /** Seconds since the epoch. */
  created: number;
  /** Soft mismatches (architecture hint, source depth) found when it joined. */
  warnings: string[];
}

/** Names are what requests use: short, and safe in a URL path and a file name. */
export const VECTOR_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export class VectorRegistry {
  readonly #entries = new Map<string, VectorEntry>();
  readonly #model: Model;
  /** Called when a vector joins or leaves (the playground's live list listens). */
  onChange: (() => void) | null = null;

  constructor(model: Model) {
    this.#model = model;
  }

  get size(): number {
    return this.#entries.size;
  }

  list(): VectorEntry[] {
    return [...this.#entries.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): VectorEntry | undefined {
    return this.#entries.get(name);
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** Adds a vector after checking it fits the model; a name in use is a 409 unless `replace`. */
  add(name: string, vector: PersonaVector, origin: VectorOrigin, options: { replace?: boolean; param?: string } = {}): VectorEntry {
    const param = options.param ?? 'name';
    if (!VECTOR_NAME.test(name)) {
      throw new ApiError(400, `${param} must be 1-64 characters of letters, digits, '_', '.' or '-', starting with a letter or digit; received ${JSON.stringify(name.slice(0, 80))}`, { param, code: 'invalid_vector_name' });
    }
    if (this.#entries.has(name) && !options.replace) {
      throw new ApiError(409, `a vector named "${name}" already exists (DELETE /v1/vectors/${name} first, or pass replace=true)`, { param, code: 'vector_exists' });
    }
    const info = this.#model.info;
    let warnings: string[];
    try {
      warnings = checkVectorFitsModel(vector, info);
    } catch (e) {
      if (e instanceof PersonaSteerError) throw fromLibraryError(e, param === 'name' ? 'body' : param);
      throw e;
    }
    const entry: VectorEntry = { name, vector, origin, created: Math.floor(Date.now() / 1000), warnings };
    this.#entries.set(name, entry);
    this.onChange?.();
    return entry;
  }

  /** Decodes an uploaded control-vector GGUF and adds it. */
  addBytes(name: string, bytes: Uint8Array, options: { replace?: boolean } = {}): VectorEntry {
    let vector: PersonaVector;
    try {
      vector = decodeControlVector(bytes);
    } catch (e) {
      if (e instanceof PersonaSteerError) throw new ApiError(400, `the body is not a usable control-vector GGUF: ${e.message}`, { param: 'body', code: e.code });
      throw e;
    }
    return this.add(name, vector, 'upload', { ...options, param: 'name' });
  }

  delete(name: string): boolean {
    const had = this.#entries.delete(name);
    if (had) this.onChange?.();
    return had;
  }

  /** Loads every *.gguf in a folder, named after the file (pirate.gguf -> "pirate"). */
  async loadDirectory(dir: string, origin: VectorOrigin = 'directory'): Promise<VectorEntry[]> {
    let files: string[];
    try {
      files = (await fs.readdir(dir)).filter((f) => f.toLowerCase().endsWith('.gguf')).sort();
    } catch (e) {
      throw new PersonaSteerError(ErrorCodes.BAD_FILE, `cannot read the vectors folder ${dir}: ${(e as Error).message}`);
    }
    const out: VectorEntry[] = [];
    for (const f of files) {
      const name = f.slice(0, -'.gguf'.length);
      if (!VECTOR_NAME.test(name)) {
        throw new PersonaSteerError(ErrorCodes.INVALID_ARG, `${path.join(dir, f)}: "${name}" is not a usable vector name (letters, digits, '_', '.', '-'; at most 64)`);
      }
      const bytes = await fs.readFile(path.join(dir, f));
      let vector: PersonaVector;
      try {
        vector = decodeControlVector(bytes);
      } catch (e) {
        throw new PersonaSteerError(ErrorCodes.BAD_FILE, `${path.join(dir, f)}: ${(e as Error).message}`);
      }
      try {
        out.push(this.add(name, vector, origin));
      } catch (e) {
        throw new PersonaSteerError(e instanceof ApiError && e.status === 409 ? ErrorCodes.INVALID_ARG : ErrorCodes.MODEL_MISMATCH, `${path.join(dir, f)}: ${(e as Error).message}`);
      }
    }
    return out;
  }
}

/** The wire form of a vector: everything a client needs to build a request or a slider. */
export function describeVector(e: VectorEntry): Record<string, unknown> {
  const v = e.vector;
  const md = v.metadata;
  const norms = v.norms();
  const capBlocks = md.capThresholds ? capThresholdBlocks(md) : md.capBlocks;
  return {
    id: e.name,
    object: 'vector',
    name: e.name,
    created: e.created,
    origin: e.origin,
    trait: md.trait ?? null,
    description: md.description ?? null,
    method: md.method ?? null,
    n_embd: v.embeddingSize,
    blocks: [...v.blocks],
    vector_norms: v.blocks.map((b) => norms.get(b)!),
    recommended_blocks: md.recommendedBlocks ? [...md.recommendedBlocks] : null,
    coefficient: md.coefficient ?? null,
    positions: md.positions ?? null,
    recommended_by: md.recommendedBy ?? null,
    // The recorded thresholds belong to cap_blocks (or, in older files, to recommended_blocks).
    cap_blocks: capBlocks ? [...capBlocks] : null,
    cap_thresholds: md.capThresholds ? [...md.capThresholds] : null,
    cap_positions: md.capPositions ?? null,
    residual_norms: md.residualNorms ? [...md.residualNorms] : null,
    source: md.source ? { architecture: md.source.architecture ?? null, n_layer: md.source.blockCount ?? null, n_embd: md.source.embeddingSize ?? null, hash: md.source.hash ?? null } : null,
    warnings: e.warnings,
  };
}
