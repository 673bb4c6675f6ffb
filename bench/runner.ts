// npm run bench [-- options]: every case against its baseline, side by side in one process (or a
// child process for the other library), alternating rounds after a warm-up, with medians,
// min/max and ratios. Targets are reported, never asserted.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Model, systemInfo } from '../index';
import { describeModel } from './helpers';
import { BIG, modelPath as resolveModel, ROOT } from './models';
import { directionsSvg, scalingTables, tableText, targetsTable, verdict, type PairResult, type SkipResult } from './report';
import { pairedRatio, ratio, summarize, type Sample } from './stats';
import type { BenchCase, BenchEnv, BenchOptions, LoadedModel, Pair, TableResult } from './types';

import { benchCase as decodeAdd } from './cases/decode-add';
import { benchCase as decodeClampMonitor } from './cases/decode-clamp-monitor';
import { benchCase as capturePrompt } from './cases/capture-prompt';
import { benchCase as nodeLlamaCpp } from './cases/node-llama-cpp';
import { benchCase as llamaBench } from './cases/llama-bench';
import { benchCase as extraction } from './cases/extraction';
import { benchCase as scalingDirections } from './cases/scaling-directions';
import { benchCase as scalingBlocks } from './cases/scaling-blocks';
import { benchCase as scalingEmbd } from './cases/scaling-embd';
import { benchCase as scalingContext } from './cases/scaling-context';
import { benchCase as extractionMemory } from './cases/extraction-memory';
import { benchCase as batched } from './cases/batched';

export const CASES: BenchCase[] = [decodeAdd, decodeClampMonitor, capturePrompt, nodeLlamaCpp, llamaBench, extraction,
  scalingDirections, scalingBlocks, scalingEmbd, scalingContext, extractionMemory, batched];

const HELP = `usage: npm run bench -- [options]

  --quick               fewer models, rounds and tokens (about 2-3 minutes on 2 cores)
  --cases a,b           case ids or groups (targets, scaling, memory); --list shows them
  --models a,b          models for every case but scaling-embd: stories260K, ${BIG},
                        rand-<blocks>x<embd>-<q8|f16|f32> (generated into bench/.models), or a .gguf path
  --rounds N            measured rounds per side (default 5, quick 3)
  --warmup N            warm-up runs per side (default 1)
  --threads N           CPU threads for every library (default: all cores, ${os.availableParallelism()};
                        1 when the load average is already at or above the core count)
  --gpu-layers N        layers to offload (default 0; -1 = all) for persona-steer, llama-bench, node-llama-cpp
  --decode-tokens N     tokens per decode run on small models (default 128, quick 64; a quarter from n_embd 1024)
  --prompt-tokens N     tokens per prompt-processing run (default 128, quick 64)
  --seed N              inputs and random models (default 1)
  --addon PATH          the persona_steer.node to load (sets PERSONA_STEER_ADDON, also for child processes)
  --json                print one JSON document on stdout (tables go to stderr)
  --json-out FILE       also write the JSON document to FILE
  --md-out FILE         also write the tables (Markdown) to FILE
  --svg FILE            write the overhead-vs-directions chart (needs scaling-directions)
  --list                list the cases and exit
`;

/**
 * All cores, unless the machine is already busy (1-minute load average at or above the core
 * count): then 1 thread, because spinning worker threads that wait for a descheduled sibling make
 * multi-threaded decoding many times slower on an oversubscribed machine. --threads overrides.
 */
export function defaultThreads(): number {
  const cores = os.availableParallelism();
  return os.loadavg()[0] >= cores ? 1 : cores;
}

function parseArgs(argv: string[]) {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) { flags.set(a.slice(2, eq), a.slice(eq + 1)); continue; }
    const name = a.slice(2);
    if (['quick', 'json', 'list', 'help'].includes(name)) flags.set(name, true);
    else {
      if (i + 1 >= argv.length) throw new Error(`--${name} needs a value`);
      flags.set(name, argv[++i]);
    }
  }
  const known = ['quick', 'json', 'list', 'help', 'cases', 'models', 'rounds', 'warmup', 'threads', 'gpu-layers', 'decode-tokens',
    'prompt-tokens', 'seed', 'addon', 'json-out', 'md-out', 'svg', 'min-sample-ms'];
  for (const k of flags.keys()) if (!known.includes(k)) throw new Error(`unknown option --${k}`);
  const num = (k: string, d: number) => {
    const v = flags.get(k);
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n)) throw new Error(`--${k} needs an integer`);
    return n;
  };
  const quick = flags.has('quick');
  const opts: BenchOptions = {
    quick,
    threads: num('threads', defaultThreads()),
    gpuLayers: num('gpu-layers', 0),
    rounds: num('rounds', quick ? 3 : 5),
    warmup: num('warmup', 1),
    decodeTokens: num('decode-tokens', quick ? 64 : 128),
    promptTokens: num('prompt-tokens', quick ? 64 : 128),
    seed: num('seed', 1),
    addon: flags.get('addon') as string | undefined,
  };
  const list = (k: string) => (typeof flags.get(k) === 'string' ? (flags.get(k) as string).split(',').map((s) => s.trim()).filter(Boolean) : undefined);
  return {
    opts, flags, cases: list('cases'), models: list('models'),
    minSampleMs: num('min-sample-ms', quick ? 150 : 300),
  };
}

function selectCases(names: string[] | undefined): BenchCase[] {
  if (!names) return CASES;
  const out = CASES.filter((c) => names.some((n) => n === c.id || n === c.group || (n.endsWith('*') && c.id.startsWith(n.slice(0, -1)))));
  const unknown = names.filter((n) => !CASES.some((c) => n === c.id || n === c.group || (n.endsWith('*') && c.id.startsWith(n.slice(0, -1)))));
  if (unknown.length) throw new Error(`unknown case(s): ${unknown.join(', ')} (--list shows them)`);
  return out;
}

async function wall(fn: () => Promise<Sample>): Promise<{ wall: number; sample: Sample }> {
  const t0 = performance.now();
  const sample = await fn();
  return { wall: performance.now() - t0, sample };
}

async function runPair(p: Pair, opts: BenchOptions, minSampleMs: number, modelLabel: string): Promise<PairResult> {
  const t0 = Date.now();
  let wb = Infinity;
  let wc = Infinity;
  for (let i = 0; i < Math.max(1, opts.warmup); i++) {
    wb = Math.min(wb, (await wall(() => p.baseline.run())).wall);
    wc = Math.min(wc, (await wall(() => p.candidate.run())).wall);
  }
  // Short runs are repeated inside one sample (the same count on both sides) to outlast timer
  // noise; the repetitions interleave (A B B A ...) so both sides see the same machine load.
  const reps = Math.max(1, Math.min(25, Math.ceil(minSampleMs / Math.max(0.05, Math.min(wb, wc)))));
  const base: Sample[] = [];
  const cand: Sample[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    const sb: Sample = { ms: 0, units: 0, cpuMs: 0 };
    const sc: Sample = { ms: 0, units: 0, cpuMs: 0 };
    for (let k = 0; k < reps; k++) {
      const candidateFirst = (r + k) % 2 === 1;
      for (const side of candidateFirst ? ['c', 'b'] : ['b', 'c']) {
        const s = await (side === 'b' ? p.baseline : p.candidate).run();
        const acc = side === 'b' ? sb : sc;
        acc.ms += s.ms;
        acc.units += s.units;
        acc.cpuMs = s.cpuMs === undefined || acc.cpuMs === undefined ? undefined : acc.cpuMs + s.cpuMs;
      }
    }
    base.push(sb);
    cand.push(sc);
  }
  const b = summarize(base);
  const c = summarize(cand);
  const hasCpu = [...base, ...cand].every((x) => x.cpuMs !== undefined && x.cpuMs > 0);
  const cpu = hasCpu ? (() => {
    const bc = summarize(base, 'cpu');
    const cc = summarize(cand, 'cpu');
    return { baseline: bc, candidate: cc, ratio: ratio(cc, bc), pairedRatio: pairedRatio(cc, bc) };
  })() : undefined;
  return {
    id: p.id, title: p.title, model: p.model, modelLabel, metric: p.metric, target: p.target, param: p.param,
    baselineLabel: p.baseline.label, candidateLabel: p.candidate.label, baseline: b, candidate: c,
    ratio: ratio(c, b), pairedRatio: pairedRatio(c, b), cpu, rounds: opts.rounds, repsPerSample: reps, notes: p.notes ?? [],
    seconds: Math.round((Date.now() - t0) / 100) / 10,
  };
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch { /* not Linux */ }
  return os.cpus()[0]?.model ?? 'unknown';
}

async function main(): Promise<void> {
  const { opts, flags, cases: caseNames, models, minSampleMs } = parseArgs(process.argv.slice(2));
  if (flags.has('help')) { process.stdout.write(HELP); return; }
  if (flags.has('list')) {
    for (const c of CASES) process.stdout.write(`${c.id.padEnd(22)} ${c.group.padEnd(8)} ${c.title}\n    models: ${c.models(opts).join(', ')}\n`);
    return;
  }
  if (opts.addon) process.env.PERSONA_STEER_ADDON = path.resolve(opts.addon);
  const json = flags.has('json');
  const out = (s: string) => (json ? process.stderr : process.stdout).write(s + '\n');
  const log = (s: string) => process.stderr.write(s + '\n');
  const selected = selectCases(caseNames);
  const started = Date.now();
  const load0 = os.loadavg();

  const sys = systemInfo();
  const loaded = new Map<string, Promise<LoadedModel>>();
  const env: BenchEnv = {
    opts, root: ROOT, log,
    modelPath: async (key) => resolveModel(key, log),
    model: (key) => {
      let p = loaded.get(key);
      if (!p) {
        p = (async () => {
          const file = resolveModel(key, log);
          const model = await Model.load(file, { gpuLayers: opts.gpuLayers });
          return { key, path: file, model, label: describeModel(model) };
        })();
        loaded.set(key, p);
      }
      return p;
    },
  };

  log(`persona-steer bench: ${cpuModel()}, ${os.availableParallelism()} cores, ${opts.threads} threads, load ${load0.map((x) => x.toFixed(2)).join(' ')}` +
    `${opts.gpuLayers !== 0 ? `, gpu layers ${opts.gpuLayers}, devices ${sys.devices.map((d) => d.description || d.name).join(', ')}` : ''}${opts.quick ? ', quick' : ''}`);
  if (load0[0] >= os.availableParallelism()) {
    log(`note: the load average (${load0[0].toFixed(1)}) is at or above the core count: ratios are noisy` +
      `${flags.has('threads') ? '' : '; using 1 thread (pass --threads to choose)'}`);
  }

  const results: PairResult[] = [];
  const skipped: SkipResult[] = [];
  const tables: TableResult[] = [];
  for (const c of selected) {
    const keys = models && c.id !== 'scaling-embd' ? models : c.models(opts);
    for (const key of keys) {
      let pairs: Pair[] = [];
      try {
        const made = await c.create(env, key);
        if ('skip' in made) {
          log(`- ${c.id} ${key}: skipped: ${made.skip}`);
          skipped.push({ id: c.id, model: key, reason: made.skip });
          continue;
        }
        if ('rows' in made) {
          tables.push(made);
          continue;
        }
        pairs = made;
        const label = (await env.model(key)).label;
        for (const p of pairs) {
          const r = await runPair(p, opts, minSampleMs, label);
          results.push(r);
          log(`- ${r.id} ${r.model}${r.param ? ` ${r.param.name}=${r.param.value}` : ''}: ${r.baseline.median.toFixed(1)} -> ${r.candidate.median.toFixed(1)} ${r.metric}, ` +
            `ratio ${r.ratio.toFixed(3)} (paired ${r.pairedRatio.toFixed(3)}${r.cpu ? `, cpu ${r.cpu.ratio.toFixed(3)}` : ''})${r.target ? ` target ${r.target} ${verdict(r)}` : ''} [${r.seconds} s, x${r.repsPerSample}]`);
        }
      } catch (err) {
        const reason = `error: ${(err as Error).message.split('\n')[0]}`;
        log(`- ${c.id} ${key}: ${reason}`);
        skipped.push({ id: c.id, model: key, reason });
      } finally {
        for (const p of pairs) await p.dispose?.().catch(() => undefined);
      }
    }
  }
  for (const m of loaded.values()) (await m).model.dispose();

  const load1 = os.loadavg();
  const seconds = Math.round((Date.now() - started) / 1000);
  const machine = {
    cpu: cpuModel(), cores: os.availableParallelism(), memoryGiB: Math.round(os.totalmem() / 2 ** 30), platform: `${process.platform}-${process.arch}`,
    node: process.version, llamaCpp: sys.llamaCpp, devices: sys.devices, supportsGpuOffload: sys.supportsGpuOffload,
    loadAverageStart: load0, loadAverageEnd: load1,
  };
  const models_ = Object.fromEntries(await Promise.all([...loaded.entries()].map(async ([k, p]) => [k, (await p).label] as const)));
  const lines: string[] = [];
  lines.push(`persona-steer benchmarks: ${machine.cpu}, ${machine.cores} cores, ${opts.threads} threads, node ${machine.node}, ` +
    `${opts.gpuLayers !== 0 ? `GPU layers ${opts.gpuLayers} on ${sys.devices.map((d) => d.description || d.name).join(', ')}` : 'CPU'}; ` +
    `load ${load0[0].toFixed(1)} -> ${load1[0].toFixed(1)}; ${seconds} s${opts.quick ? ' (quick)' : ''}`);
  lines.push(`models: ${Object.entries(models_).map(([k, v]) => `${k} (${v})`).join('; ')}`);
  lines.push(`ratio = case median / baseline median (wall-clock throughput; > 1 is faster); paired = median of per-round ratios; ` +
    `cpu = the same from process CPU time (user + system, all threads; insensitive to waiting for a core on a shared machine); ` +
    `${opts.rounds} rounds after ${opts.warmup} warm-up`);
  lines.push('');
  if (results.some((r) => !r.param)) lines.push(targetsTable(results), '');
  const sc = scalingTables(results);
  if (sc) lines.push(sc);
  for (const t of tables) lines.push(tableText(t), '');
  if (skipped.length) {
    lines.push('skipped:');
    for (const s of skipped) lines.push(`- ${s.id} (${s.model}): ${s.reason}`);
  }
  const text = lines.join('\n');
  out(text);
  if (flags.has('md-out')) fs.writeFileSync(String(flags.get('md-out')), text + '\n');
  const doc = { machine, options: opts, seconds, models: models_, results, tables, skipped };
  if (json) process.stdout.write(JSON.stringify(doc) + '\n');
  if (flags.has('json-out')) fs.writeFileSync(String(flags.get('json-out')), JSON.stringify(doc, null, 2) + '\n');
  if (flags.has('svg')) {
    if (results.some((r) => r.id === 'scaling-directions')) {
      fs.writeFileSync(String(flags.get('svg')), directionsSvg(results, `${machine.cpu}, ${opts.threads} thread${opts.threads === 1 ? '' : 's'}, ${new Date().toISOString().slice(0, 10)}; medians of ${opts.rounds} rounds; solid: wall clock, dashed: CPU time`));
      log(`wrote ${flags.get('svg')}`);
    } else log('--svg: no scaling-directions results to chart');
  }
  if (results.length === 0 && tables.length === 0) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exit(2);
});
