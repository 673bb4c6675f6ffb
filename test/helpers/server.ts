// What the server tests share: an in-process server on a free loopback port, the official
// `openai` client pointed at it, the library oracle (the same model and vector files, called
// directly), raw HTTP for what a well-behaved client never sends, and a slow random model for
// tests that need a generation still running when something happens.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { writeRandomModel } from '../../bench/make-random-model';
import { Model, type Context } from '../../lib/index';
import { startServer, type PersonaServer, type ServerOptions } from '../../lib/server/index';
import { TOY_MODEL, TOY_VECTORS_DIR } from '../../lib/server/toy-vectors';
import { readControlVector } from '../../lib/vector/control-vector-file';
import type { PersonaVector } from '../../lib/vector/persona-vector';
import { stories260K } from './models';

export { TOY_MODEL, TOY_VECTORS_DIR };

/** The toy model on port 0 with one thread (tests run beside each other on 2 cores). */
export function startTestServer(options: ServerOptions = {}): Promise<PersonaServer> {
  return startServer({ port: 0, threads: 1, ...options });
}

export function client(server: PersonaServer, apiKey = 'unused'): OpenAI {
  // No retries: a 429 or 5xx must reach the test, not be retried away.
  return new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0, timeout: 120_000 });
}

export interface Oracle {
  model: Model;
  context: Context;
  vectors: Record<'cheerful' | 'sycophantic' | 'pirate', PersonaVector>;
  close(): Promise<void>;
}

/** The library itself on the same model file, configured like the server's context. */
export async function toyOracle(options: { parallel?: number } = {}): Promise<Oracle> {
  const model = await Model.load(TOY_MODEL);
  const parallel = options.parallel ?? 4;
  const context = await model.createContext({ contextSize: 256 * parallel, sequences: parallel, threads: 1 });
  const read = (n: string) => readControlVector(path.join(TOY_VECTORS_DIR, `${n}.gguf`));
  const vectors = { cheerful: await read('cheerful'), sycophantic: await read('sycophantic'), pirate: await read('pirate') };
  return {
    model, context, vectors,
    async close() { await context.dispose(); model.dispose(); },
  };
}

export interface RawResponse { status: number; headers: http.IncomingHttpHeaders; body: string }

/** One HTTP request with nothing in between (no client-side validation, any body bytes). */
export function raw(url: string, options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(options.path, url);
    const req = http.request(u, { method: options.method ?? 'POST', headers: options.headers ?? {}, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

export function json(url: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  return raw(url, { path, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** The server's /health counters. */
export async function health(server: PersonaServer): Promise<{ slots: { total: number; busy: number; queued: number }; tokens: { generated: number }; requests: Record<string, number>; memory: { rss: number } }> {
  const r = await raw(server.url, { method: 'GET', path: '/health' });
  return JSON.parse(r.body);
}

/**
 * A random-weight llama model slow enough (about 15-20 ms a token on one thread) that a long
 * generation is still running when a test disconnects, overloads or stops the server.
 */
export function slowModel(): { file: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'persona-steer-server-'));
  const file = path.join(dir, 'slow.gguf');
  writeRandomModel({ blocks: 8, embd: 1024, type: 'q8_0', seed: 3, context: 4096 }, file, fs.existsSync(stories260K) ? stories260K : null);
  return { file, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export async function waitFor(cond: () => Promise<boolean> | boolean, timeoutMs = 10_000, stepMs = 20): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return false;
}
