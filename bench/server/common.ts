// What the server benchmarks share: a server in its own process (so its RSS is its own), found by
// the URL it prints; its RSS from /proc; a closed-loop client that keeps N requests in flight for
// a fixed number of requests; and percentiles.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts a server command and resolves with its URL once it listens: ours prints "listening on
 * URL"; llama-server "llama_server: listening on http://..." (ready once /health is 200).
 */
export function startProcess(command: string, args: string[], pattern: RegExp, label: string): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString('utf8');
      if (out.length > 1 << 20) out = out.slice(-(1 << 16));
      const m = pattern.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        child.stdout!.resume();
        child.stderr!.resume();
        resolve({
          child,
          url: m[1]!.replace(/\/$/, ''),
          stop: () => new Promise<void>((done) => {
            if (child.exitCode !== null) { done(); return; }
            child.once('exit', () => done());
            child.kill('SIGTERM');
            setTimeout(() => { if (child.exitCode === null) child.kill('SIGKILL'); }, 15_000).unref();
          }),
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${label} exited with ${code} before listening:\n${out.slice(-2000)}`)));
  });
}

export async function waitHealthy(url: string, timeoutMs = 120_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    try {
      const r = await fetch(`${url}/health`);
      if (r.status === 200) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url}/health did not answer 200 within ${timeoutMs} ms`);
}

/** Resident set size of a process in bytes (Linux /proc), or NaN elsewhere. */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

let ticks = 0;

/**
 * CPU time (user + system, every thread) a process has used, in seconds (Linux /proc), or NaN.
 * With one thread it counts the work done whether or not the process waited for a core, which
 * makes it usable on a shared, busy machine (docs/benchmarks.md).
 */
export function cpuSeconds(pid: number): number {
  try {
    ticks ||= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticks;
  } catch {
    return NaN;
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function median(xs: number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 50);
}

export interface LoopResult {
  requests: number;
  seconds: number;
  /** Generated tokens, from each response's usage. */
  tokens: number;
  latenciesMs: number[];
  failures: string[];
}

/**
 * Keeps `concurrency` requests in flight until `total` have completed (a closed loop, as a batch
 * client would). Each body comes from `body(i)`; usage.completion_tokens counts the tokens.
 */
export async function closedLoop(url: string, route: string, total: number, concurrency: number, body: (i: number) => unknown): Promise<LoopResult> {
  let next = 0;
  let tokens = 0;
  const latenciesMs: number[] = [];
  const failures: string[] = [];
  const t0 = performance.now();
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const s = performance.now();
      try {
        const r = await fetch(`${url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body(i)) });
        const j = await r.json() as { usage?: { completion_tokens: number } };
        if (r.status !== 200 || !j.usage) failures.push(`${r.status} ${JSON.stringify(j).slice(0, 200)}`);
        else tokens += j.usage.completion_tokens;
      } catch (e) {
        failures.push((e as Error).message);
      }
      latenciesMs.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { requests: total, seconds: (performance.now() - t0) / 1000, tokens, latenciesMs, failures };
}

export function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}
