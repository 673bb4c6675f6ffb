// ggml's RPC backend: blocks of one model on other hosts' rpc-servers (docs/distributed.md).
// Validation of Model.load's rpcServers / tensorSplit, and the server `persona-steer rpc-server` runs.
import os from 'node:os';
import { ErrorCodes, PersonaSteerError, invalidArg } from './errors';
import { call, native } from './native';
import { checkNumber, optInt } from './validate';

/** The most devices llama.cpp splits a model over (llama_max_devices()). */
export const MAX_DEVICES = 16;

/** `host:port` (a name, an IPv4 address, or an IPv6 address in brackets) with a port in 1-65535. */
export function checkEndpoint(name: string, value: unknown): string {
  const m = typeof value === 'string' ? /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value) : null;
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw invalidArg(name, "'host:port' with a port in 1-65535", value);
  return value as string;
}

export interface RpcLoadOptions {
  rpcServers?: string[];
  tensorSplit?: number[];
  rpcTimeoutMs?: number;
}

/** Checks rpcServers, tensorSplit and rpcTimeoutMs of Model.load's options; returns what the addon takes. */
export function checkRpcLoadOptions(opts: Record<string, unknown>): { rpcServers?: string[]; tensorSplit?: number[]; rpcTimeoutMs?: number } {
  const out: { rpcServers?: string[]; tensorSplit?: number[]; rpcTimeoutMs?: number } = {};
  if (opts.rpcServers !== undefined) {
    const list = opts.rpcServers;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_DEVICES) {
      throw invalidArg('options.rpcServers', `an array of 1-${MAX_DEVICES} 'host:port' strings`, list);
    }
    const seen = new Set<string>();
    out.rpcServers = list.map((s, i) => {
      const ep = checkEndpoint(`options.rpcServers[${i}]`, s);
      if (seen.has(ep)) throw invalidArg(`options.rpcServers[${i}]`, 'each server once', ep);
      seen.add(ep);
      return ep;
    });
  }
  if (opts.tensorSplit !== undefined) {
    const split = opts.tensorSplit;
    if (!Array.isArray(split) || split.length === 0 || split.length > MAX_DEVICES) {
      throw invalidArg('options.tensorSplit', `an array of 1-${MAX_DEVICES} non-negative proportions`, split);
    }
    out.tensorSplit = split.map((x, i) => checkNumber(`options.tensorSplit[${i}]`, x, 0, 1e9));
    if (!out.tensorSplit.some((x) => x > 0)) throw invalidArg('options.tensorSplit', 'at least one proportion above 0', split);
  }
  if (opts.rpcTimeoutMs !== undefined) {
    if (out.rpcServers === undefined) throw invalidArg('options.rpcTimeoutMs', 'given only together with options.rpcServers', opts.rpcTimeoutMs);
    out.rpcTimeoutMs = optInt('options.rpcTimeoutMs', opts.rpcTimeoutMs, 100, 600_000, 5000);
  }
  return out;
}

/** The RPC protocol version this build speaks (ggml-rpc.h), or null without the RPC backend. */
export function rpcProtocolVersion(): string | null {
  const n = call(() => native());
  return n.rpcAvailable() ? n.rpcProtocolVersion : null;
}

/**
 * Serves this process's devices (its GPUs, else its CPU) to RPC clients on `host:port`, with ggml's
 * rpc-server loop on a native thread, until the process ends. The server is this same addon, so
 * its ggml is the client's (persona-steer rpc-server; ggml's tools/rpc does the same).
 * Errors: ERR_INVALID_ARG (endpoint, threads), ERR_UNAVAILABLE (built without RPC), ERR_NATIVE.
 */
export function startRpcServer(endpoint: string, options: { threads?: number } = {}): void {
  checkEndpoint('endpoint', endpoint);
  const threads = optInt('options.threads', options.threads, 1, 1024, 0);
  const n = call(() => native());
  if (!n.rpcAvailable()) {
    throw new PersonaSteerError(ErrorCodes.UNAVAILABLE, 'this build of persona-steer has no RPC backend (build with PERSONA_STEER_RPC=1; docs/distributed.md)');
  }
  call(() => n.rpcStartServer(endpoint, threads || Math.max(1, os.availableParallelism())));
}

/** Connects to an rpc-server and completes ggml's handshake (as Model.load does first); null when it answers with this build's version. */
export function probeRpcServer(endpoint: string, timeoutMs = 5000): { code: string; message: string } | null {
  checkEndpoint('endpoint', endpoint);
  const r = call(() => native()).rpcProbe(endpoint, timeoutMs);
  return r.code === null ? null : { code: r.code, message: r.message };
}
