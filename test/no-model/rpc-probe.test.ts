// probeRpcServer's handshake (native/rpc.cpp: send_all/recv_all over one transfer loop) against
// fake servers speaking ggml's HELLO in another process (the probe blocks this thread):
// request | cmd 14 | size 24 (u64) | 24 capability bytes |, reply | size 28 | major minor patch pad | 24 bytes |.
import { spawn, type ChildProcess } from 'node:child_process';
import t, { Test } from 'tap';
import { probeRpcServer } from '../../lib/rpc';

const SERVER = `
const net = require('net');
const [mode, version] = process.argv.slice(1);
const srv = net.createServer((sock) => {
  let got = Buffer.alloc(0);
  sock.on('data', (d) => {
    got = Buffer.concat([got, d]);
    if (mode === 'silent' || got.length < 33 || got[0] !== 14) return;
    const rsp = Buffer.alloc(8 + 28);
    rsp.writeBigUInt64LE(28n, 0);
    version.split('.').forEach((x, i) => { rsp[8 + i] = Number(x); });
    // In two writes apart in time: the probe must read on until it has the whole reply.
    sock.write(rsp.subarray(0, 5));
    setTimeout(() => sock.end(rsp.subarray(5)), 50);
  });
});
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
`;

async function server(t: Test, mode: 'answer' | 'silent', version = '0.0.0'): Promise<number> {
  const child: ChildProcess = spawn(process.execPath, ['-e', SERVER, mode, version], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => { child.kill(); });
  return new Promise((resolve) => child.stdout!.once('data', (d) => resolve(Number(String(d).trim()))));
}

t.test('a server answering in pieces with another protocol version gives ERR_RPC_VERSION naming it', async (t) => {
  const port = await server(t, 'answer', '5.1.0');
  const r = probeRpcServer(`127.0.0.1:${port}`, 5000);
  t.equal(r?.code, 'ERR_RPC_VERSION');
  t.match(r?.message, /speaks RPC protocol 5\.1\.0, this build \d+\.\d+\.\d+/);
});

t.test("a server answering with this build's protocol version completes the handshake", async (t) => {
  const probe = probeRpcServer(`127.0.0.1:${await server(t, 'answer', '5.1.0')}`, 5000);
  const ours = /this build (\d+\.\d+\.\d+)/.exec(probe?.message ?? '')?.[1];
  t.ok(ours, "the build's version, from the message above");
  t.equal(probeRpcServer(`127.0.0.1:${await server(t, 'answer', ours!)}`, 5000), null);
});

t.test('a server that never answers gives ERR_RPC_CONNECT after the timeout', async (t) => {
  const port = await server(t, 'silent');
  const r = probeRpcServer(`127.0.0.1:${port}`, 300);
  t.equal(r?.code, 'ERR_RPC_CONNECT');
  t.match(r?.message, /did not complete ggml's RPC handshake within 300 ms/);
});
