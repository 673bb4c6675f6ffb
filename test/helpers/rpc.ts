// rpc-servers for the tests: `persona-steer rpc-server` child processes on loopback, and a
// byte-counting TCP relay to put in front of one.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { root } from './models';

export const cli = path.join(root, 'dist', 'cli', 'main.js');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RpcServer {
  endpoint: string;
  port: number;
  proc: ChildProcess;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
}

/** Starts `persona-steer rpc-server --json` on a free loopback port and waits for its ready line. */
export async function startServer(threads = 1): Promise<RpcServer> {
  const port = await freePort();
  const proc = spawn(process.execPath, [cli, 'rpc-server', '--host', '127.0.0.1', '--port', String(port), '--threads', String(threads), '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PERSONA_STEER_LOG: '' } });
  let out = '';
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rpc-server on ${port} not ready in 30 s: ${err}`)), 30_000);
    proc.stdout!.on('data', (d) => {
      out += String(d);
      if (/"ready"/.test(out)) { clearTimeout(timer); resolve(); }
    });
    proc.stderr!.on('data', (d) => { err += String(d); });
    proc.once('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`rpc-server exited (${code ?? sig}): ${err}`)); });
  });
  proc.stdout!.resume();
  return {
    endpoint: `127.0.0.1:${port}`,
    port,
    proc,
    kill: () => new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) { resolve(); return; }
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    }),
  };
}

export interface Relay {
  endpoint: string;
  /** Bytes client -> server and server -> client so far. */
  counts(): Promise<{ sent: number; received: number }>;
  close(): Promise<void>;
}

// The relay runs in a process of its own: a synchronous native call that talks to a server (a
// model's dispose frees remote buffers) would otherwise block the very event loop that relays it.
const RELAY = `
const net = require('node:net');
const [host, port] = [process.argv[1].slice(0, process.argv[1].lastIndexOf(':')), Number(process.argv[1].slice(process.argv[1].lastIndexOf(':') + 1))];
let sent = 0, received = 0;
const server = net.createServer((client) => {
  const up = net.connect({ host, port });
  client.setNoDelay(true); up.setNoDelay(true);
  client.on('data', (d) => { sent += d.length; up.write(d); });
  up.on('data', (d) => { received += d.length; client.write(d); });
  const end = () => { client.destroy(); up.destroy(); };
  for (const s of [client, up]) { s.on('close', end); s.on('error', end); }
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (m) => { if (m === 'counts') process.send({ sent, received }); else process.exit(0); });
`;

/** A TCP relay on a free loopback port in front of `target` that counts the bytes each way. */
export async function startRelay(target: string): Promise<Relay> {
  const proc = spawn(process.execPath, ['-e', RELAY, target], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const next = () => new Promise<Record<string, number>>((resolve, reject) => {
    proc.once('message', (m) => resolve(m as Record<string, number>));
    proc.once('exit', (c) => reject(new Error(`relay exited (${c})`)));
  });
  const { port } = await next();
  return {
    endpoint: `127.0.0.1:${port}`,
    counts: async () => { const r = next(); proc.send('counts'); const m = await r; return { sent: m.sent, received: m.received }; },
    close: () => new Promise<void>((resolve) => { proc.once('exit', () => resolve()); proc.kill('SIGKILL'); }),
  };
}
