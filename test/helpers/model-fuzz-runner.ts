// Runs the model-file fuzzer: cases go to long-lived child processes (fixtures/lifecycle/
// fuzz-model-child.js), one file at a time, so a crash or a hang is caught as the child's death and
// pinned on the case it was on; a new child then takes the next case. Several children run side
// by side (shards). Each case file exists only while its case runs.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { childEnv } from '../fixtures/lifecycle/compiled-lib';
import { fuzzBases, makeFuzzCase, type FuzzBase } from './model-fuzz';

export interface CaseRecord {
  i: number;
  load: string;
  use?: string;
  reason?: string;
  ms: number;
  tokens?: number;
  generated?: number;
}

export interface CaseFailure {
  i: number;
  base: string;
  mutations: string[];
  what: string;
  /** Where the case file was kept for replay (when a keep folder was given). */
  file?: string;
}

export interface FuzzRun {
  seed: number;
  cases: number;
  children: number;
  wallMs: number;
  /** Outcome -> count: "ERR_MODEL_LOAD", "loaded and used", "loaded, then ERR_X". */
  outcomes: Record<string, number>;
  /** Normalised ERR_MODEL_LOAD reasons -> count. */
  reasons: Record<string, number>;
  /** Normalised reasons of typed errors from models that loaded -> count. */
  useReasons: Record<string, number>;
  /** The child died (a signal or an exit) on this case. */
  deaths: CaseFailure[];
  /** The case did not finish within the time limit; its child was killed. */
  hangs: CaseFailure[];
  /** Something other than a PersonaSteerError came out. */
  untyped: CaseFailure[];
  /** ERR_MODEL_LOAD without llama.cpp's (or the pre-flight's) reason. */
  silent: CaseFailure[];
  slowest: { i: number; ms: number; base: string; mutations: string[]; outcome: string };
}

const CHILD = path.resolve(__dirname, '..', 'fixtures', 'lifecycle', 'fuzz-model-child.js');

class Child {
  readonly proc: ChildProcess;
  private readonly lines: string[] = [];
  private wake: (() => void) | null = null;
  stderr = '';
  exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  constructor() {
    this.proc = spawn(process.execPath, [CHILD], {
      env: { ...process.env, ...childEnv(), NODE_OPTIONS: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    readline.createInterface({ input: this.proc.stdout! }).on('line', (l) => { this.lines.push(l); this.wake?.(); });
    this.proc.stderr!.setEncoding('utf8').on('data', (d: string) => { this.stderr = (this.stderr + d).slice(-4000); });
    this.proc.on('close', (code, signal) => { this.exited = { code, signal }; this.wake?.(); });
    this.proc.stdin!.on('error', () => undefined); // writing to a child that just died
  }

  send(job: unknown): void { this.proc.stdin!.write(`${JSON.stringify(job)}\n`); }

  /** The DONE record of case i, or null when the child ended or `timeoutMs` passed first. */
  async done(i: number, timeoutMs: number): Promise<CaseRecord | 'timeout' | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.lines.length > 0) {
        const l = this.lines.shift()!;
        if (l.startsWith('DONE ')) {
          const rec = JSON.parse(l.slice(5)) as CaseRecord;
          if (rec.i === i) return rec;
        }
      }
      if (this.exited) return null;
      const left = deadline - Date.now();
      if (left <= 0) return 'timeout';
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { this.wake = null; resolve(); }, left);
        this.wake = () => { clearTimeout(timer); this.wake = null; resolve(); };
      });
    }
  }

  async kill(): Promise<void> {
    if (this.exited) return;
    const closed = new Promise<void>((resolve) => this.proc.once('close', () => resolve()));
    this.proc.kill('SIGKILL');
    await closed;
  }

  async end(): Promise<void> {
    if (this.exited) return;
    const closed = new Promise<void>((resolve) => this.proc.once('close', () => resolve()));
    this.proc.stdin!.end();
    await closed;
  }
}

export interface FileJob { i: number; file: string; mmap: boolean }

/**
 * Runs given files through the fuzz child (a new child after a death): per file its record, or
 * 'death' / 'hang' with what the child left on stderr.
 */
export async function runFilesInChild(jobs: FileJob[], timeoutMs = 60_000): Promise<Map<number, CaseRecord | { died: string }>> {
  const out = new Map<number, CaseRecord | { died: string }>();
  let child: Child | null = null;
  for (const job of jobs) {
    if (!child) child = new Child();
    child.send(job);
    const rec = await child.done(job.i, timeoutMs);
    if (rec === 'timeout' || rec === null) {
      if (rec === 'timeout') await child.kill();
      out.set(job.i, { died: `${rec === 'timeout' ? 'hung' : 'died'}: exit ${child.exited?.code} signal ${child.exited?.signal}; ${child.stderr.trim().split('\n').slice(-2).join(' | ')}` });
      child = null;
    } else {
      out.set(job.i, rec);
    }
  }
  await child?.end();
  return out;
}

/** ERR_MODEL_LOAD reasons with numbers, quotes and the case's path taken out, to count kinds. */
function normalise(reason: string): string {
  return reason.replace(/^could not load a model from \S+: /, '').replace(/"[^"]*"|'[^']*'/g, '"…"')
    .replace(/-?\d+(\.\d+)?(e[-+]?\d+)?/gi, 'N').replace(/\s+/g, ' ').slice(0, 90);
}

export interface FuzzOptions {
  seed: number;
  cases: number;
  /** First case number (default 0): cases start .. start + cases - 1. */
  start?: number;
  /** Children running side by side (default 2). */
  shards?: number;
  /** A case taking longer is a hang (default 60 s: a loaded machine is slow, a hang is forever). */
  caseTimeoutMs?: number;
  /** Keep the files of failing cases here. */
  keepDir?: string;
  onCase?: (rec: CaseRecord) => void;
}

export async function runModelFuzz(opts: FuzzOptions): Promise<FuzzRun> {
  const bases: FuzzBase[] = fuzzBases();
  const start = opts.start ?? 0;
  const shards = Math.max(1, opts.shards ?? 2);
  const timeoutMs = opts.caseTimeoutMs ?? 60_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-model-fuzz-'));
  const run: FuzzRun = {
    seed: opts.seed, cases: 0, children: 0, wallMs: 0, outcomes: {}, reasons: {}, useReasons: {}, deaths: [], hangs: [], untyped: [], silent: [],
    slowest: { i: -1, ms: -1, base: '', mutations: [], outcome: '' },
  };
  const t0 = Date.now();
  const count = (k: string, m: Record<string, number>) => { m[k] = (m[k] ?? 0) + 1; };

  async function shard(s: number): Promise<void> {
    let child: Child | null = null;
    for (let i = start + s; i < start + opts.cases; i += shards) {
      const c = makeFuzzCase(bases, opts.seed, i);
      const file = path.join(dir, `case-${i}.gguf`);
      fs.writeFileSync(file, c.bytes);
      const fail = (what: string): CaseFailure => {
        const f: CaseFailure = { i, base: c.base, mutations: c.mutations, what };
        if (opts.keepDir) {
          fs.mkdirSync(opts.keepDir, { recursive: true });
          f.file = path.join(opts.keepDir, `seed-${opts.seed}-case-${i}.gguf`);
          fs.copyFileSync(file, f.file);
        }
        return f;
      };
      if (!child) { child = new Child(); run.children++; }
      child.send({ i, file, mmap: i % 2 === 0 });
      const rec = await child.done(i, timeoutMs);
      run.cases++;
      if (rec === 'timeout' || rec === null) {
        if (rec === 'timeout') await child.kill();
        const exit = child.exited;
        const tail = child.stderr.trim().split('\n').slice(-3).join(' | ');
        if (rec === 'timeout') {
          run.hangs.push(fail(`no result after ${timeoutMs} ms`));
          count('hang', run.outcomes);
        } else {
          run.deaths.push(fail(`child died: exit ${exit?.code} signal ${exit?.signal}; stderr: ${tail}`));
          count('death', run.outcomes);
        }
        child = null;
      } else {
        const outcome = rec.load !== 'ok' ? rec.load : rec.use === 'ok' ? 'loaded and used' : `loaded, then ${rec.use}`;
        count(outcome.startsWith('untyped') ? 'untyped' : outcome.replace(/untyped.*/, 'untyped'), run.outcomes);
        if (rec.load.startsWith('untyped') || rec.use?.startsWith('untyped')) run.untyped.push(fail(`${rec.load} / ${rec.use}: ${rec.reason}`));
        if (rec.load === 'ERR_MODEL_LOAD') {
          const reason = rec.reason ?? '';
          count(normalise(reason), run.reasons);
          if (/gave no reason|: failed to load model$/.test(reason) || !/could not load a model from .+: .+/.test(reason)) run.silent.push(fail(reason));
        }
        if (rec.load === 'ok' && rec.use !== 'ok') count(`${rec.use}: ${normalise(rec.reason ?? '')}`, run.useReasons);
        if (rec.ms > run.slowest.ms) run.slowest = { i, ms: rec.ms, base: c.base, mutations: c.mutations, outcome };
        opts.onCase?.(rec);
      }
      fs.rmSync(file, { force: true });
    }
    await child?.end();
  }

  try {
    await Promise.all(Array.from({ length: shards }, (_, s) => shard(s)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  run.wallMs = Date.now() - t0;
  return run;
}

export function fuzzReport(r: FuzzRun): string {
  const top = Object.entries(r.reasons).sort((a, b) => b[1] - a[1]).slice(0, 15)
    .map(([k, n]) => `    ${String(n).padStart(6)}  ${k}`).join('\n');
  const list = (xs: CaseFailure[]) => xs.slice(0, 10).map((f) => `    case ${f.i} (${f.base}; ${f.mutations.join('; ')}): ${f.what}${f.file ? ` [kept: ${f.file}]` : ''}`).join('\n');
  return [
    `model-file fuzzer, seed ${r.seed}: ${r.cases} cases in ${(r.wallMs / 1000).toFixed(1)} s, ${r.children} child process(es)`,
    `  outcomes: ${JSON.stringify(r.outcomes)}`,
    `  slowest case: ${r.slowest.i} (${r.slowest.ms} ms, ${r.slowest.outcome}; ${r.slowest.base}; ${r.slowest.mutations.join('; ')})`,
    `  most common refusals (ERR_MODEL_LOAD):\n${top}`,
    ...(Object.keys(r.useReasons).length ? [`  errors from models that loaded:\n${Object.entries(r.useReasons).sort((a, b) => b[1] - a[1]).slice(0, 8)
      .map(([k, n]) => `    ${String(n).padStart(6)}  ${k}`).join('\n')}`] : []),
    ...(r.deaths.length ? [`  deaths (${r.deaths.length}):\n${list(r.deaths)}`] : []),
    ...(r.hangs.length ? [`  hangs (${r.hangs.length}):\n${list(r.hangs)}`] : []),
    ...(r.untyped.length ? [`  untyped errors (${r.untyped.length}):\n${list(r.untyped)}`] : []),
    ...(r.silent.length ? [`  refusals without a reason (${r.silent.length}):\n${list(r.silent)}`] : []),
  ].join('\n');
}
