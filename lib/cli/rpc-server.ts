// persona-steer rpc-server: ggml's RPC server from this very addon (the same pinned, patched ggml
// as every client of this version), so the blocks a client puts here run the same code.
import net from 'node:net';
import { invalidArg } from '../errors';
import { rpcProtocolVersion, startRpcServer } from '../rpc';
import { systemInfo } from '../system';
import { int, parse } from './args';
import type { Command } from './command';
import { COMMON_FLAGS, warn } from './common';

function listening(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    const attempt = () => {
      // Connecting and closing at once: the server reads no command and waits for the next client.
      const s = net.connect({ host, port });
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) resolve(false); else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export const rpcServer: Command = {
  name: 'rpc-server',
  summary: "serve this machine's CPU (or GPUs) to other hosts' models over ggml's RPC protocol",
  usage: `persona-steer rpc-server [--host ADDR] [--port N] [--threads N] [--json]

  Runs ggml's rpc-server from this persona-steer's own addon until stopped (Ctrl-C): clients load
  models with Model.load(path, { rpcServers: ['ADDR:N'] }) or --rpc ADDR:N, and the blocks given to
  this server run here. Serves one client at a time. The protocol has no authentication or
  encryption: bind to a private network only (docs/distributed.md).

  --host ADDR    address to listen on (default 127.0.0.1)
  --port N       TCP port (default 50052)
  --threads N    CPU threads for the blocks run here (default: all cores)
  --json         print the ready line as JSON
`,
  async run(argv) {
    const { values } = parse('rpc-server', argv, { ...COMMON_FLAGS, host: { type: 'string' }, port: { type: 'string' }, threads: { type: 'string' } });
    if (values.help) { process.stdout.write(this.usage); return 0; }
    const host = typeof values.host === 'string' ? values.host : '127.0.0.1';
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)$/.test(host)) throw invalidArg('--host', 'an address or host name', host);
    const port = int(values, 'port', 1, 65535) ?? 50052;
    const threads = int(values, 'threads', 1, 1024);
    if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) {
      warn(`listening on ${host}: ggml's RPC protocol has no authentication; anyone who reaches this port can run code on this machine's devices`);
    }
    const endpoint = `${host}:${port}`;
    startRpcServer(endpoint, threads === undefined ? {} : { threads });
    const connectHost = host === '0.0.0.0' ? '127.0.0.1' : host.replace(/^\[|\]$/g, '');
    if (!(await listening(connectHost, port, 10_000))) {
      process.stderr.write(`persona-steer rpc-server: nothing listens on ${endpoint} after 10 s\n`);
      return 1;
    }
    const s = systemInfo();
    const ready = { endpoint, rpcProtocol: rpcProtocolVersion(), llamaCpp: s.llamaCpp, devices: s.devices.map((d) => d.name), pid: process.pid };
    process.stdout.write(values.json ? JSON.stringify({ ready }) + '\n'
      : `persona-steer rpc-server ready on ${endpoint} (RPC protocol ${ready.rpcProtocol}, llama.cpp ${ready.llamaCpp.slice(0, 12)}, devices ${ready.devices.join(', ')})\n`);
    // ggml's server loop runs on its own native thread until the process is stopped.
    await new Promise<void>((resolve) => {
      const keepAlive = setInterval(() => undefined, 1 << 30);
      const stop = () => { clearInterval(keepAlive); resolve(); };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
