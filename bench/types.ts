// Shapes shared by the runner and the cases.
import type { Model } from '../index';
import type { Sample } from './stats';

export type { Sample };

/** One side of a comparison: a closure that does the work once and says how long it took. */
export interface Side {
  label: string;
  run(): Promise<Sample>;
}

/** A case measured against its baseline, alternating, in the same process and on the same model. */
export interface Pair {
  /** Case id (the file's), e.g. 'decode-add'. */
  id: string;
  /** What is compared, for the table. */
  title: string;
  model: string;
  /** 'decode tok/s', 'prompt tok/s' ... */
  metric: string;
  /** The target ratio (docs/benchmarks.md's target column; reported, never asserted). */
  target?: number;
  /** For scaling tables: the varied parameter and its value. */
  param?: { name: string; value: number };
  baseline: Side;
  candidate: Side;
  /** Facts worth printing with the row (what was clamped, which blocks ...). */
  notes?: string[];
  dispose?(): Promise<void>;
}

/** A measurement that is not a ratio (peak memory against the number of prompts). */
export interface TableResult {
  id: string;
  title: string;
  model: string;
  columns: string[];
  rows: (string | number)[][];
  notes?: string[];
}

export interface Skip {
  skip: string;
}

export interface BenchOptions {
  quick: boolean;
  threads: number;
  gpuLayers: number;
  rounds: number;
  warmup: number;
  /** Tokens generated per decode run. */
  decodeTokens: number;
  /** Tokens per prompt-processing run. */
  promptTokens: number;
  seed: number;
  /** Explicit addon path (also passed to child processes through PERSONA_STEER_ADDON). */
  addon?: string;
}

export interface LoadedModel {
  key: string;
  path: string;
  model: Model;
  /** Short description for the table (blocks x n_embd, type, size). */
  label: string;
}

export interface BenchEnv {
  opts: BenchOptions;
  root: string;
  log(message: string): void;
  /** Loads (once) and returns a model of the registry; generates random models on first use. */
  model(key: string): Promise<LoadedModel>;
  /** Resolves a model key to its file (generating it when needed) without loading it. */
  modelPath(key: string): Promise<string>;
}

/** A case file's export: a factory that returns closures paired with their baselines. */
export interface BenchCase {
  id: string;
  title: string;
  /** 'targets' rows carry the project's speed targets; 'scaling' rows build the scaling tables. */
  group: 'targets' | 'scaling' | 'memory';
  /** Models it runs on by default (keys of the registry), full and --quick. */
  models(opts: BenchOptions): string[];
  create(env: BenchEnv, modelKey: string): Promise<Pair[] | TableResult | Skip>;
}
