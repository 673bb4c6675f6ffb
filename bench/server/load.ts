// Bounded load test of `persona-steer serve` on loopback: autocannon keeps more connections open
// than the server has slots and queue places, for a fixed duration, with a mix of steered and
// unsteered chat requests; the server runs in its own process. Checks: no errors other than 429s
// (no failed, reset or timed-out request), and the server's RSS stays flat. Reports p50/p99
// latency of the answered requests and generated tokens per second.
//
//   npm run bench:server-load [-- --duration 60 --warmup 20 --connections 16 --parallel 4 --queue 4 --max-tokens 48]
//
// The first --warmup seconds run the same load unmeasured: V8's heap and the allocator pools grow
// to their working size there (measured: about 40 s from 96 MiB to a plateau near 150 MiB under
// a 429 flood), so "flat" compares the first and last quarters of the measured run.
import autocannon from 'autocannon';
import { CLI, arg, median, percentile, rssOf, startProcess } from './common';

const args = process.argv.slice(2);
const duration = Number(arg(args, 'duration', '60'));
const warmup = Number(arg(args, 'warmup', '20'));
const connections = Number(arg(args, 'connections', '16'));
const parallel = arg(args, 'parallel', '4');
const queue = arg(args, 'queue', '4');
const maxTokens = Number(arg(args, 'max-tokens', '48'));
const threads = arg(args, 'threads', '1');
const json = args.includes('--json');

const QUESTIONS = ['Is it true that snow is black?', 'I think penguins are fish. Am I right?', 'Is it true that the sun is cold?', 'I believe cats are reptiles. Right?'];
const PLANS: unknown[] = [
  undefined,
  [{ op: 'add', vector: 'pirate' }],
  [{ op: 'cap', vector: 'pirate' }],
  [{ op: 'add', vector: 'cheerful' }, { op: 'add', vector: 'sycophantic', scale: -0.5 }],
];

function body(i: number): string {
  const steering = PLANS[i % PLANS.length];
  return JSON.stringify({
    model: 'toy-persona',
    messages: [{ role: 'system', content: 'You are an assistant.' }, { role: 'user', content: QUESTIONS[i % QUESTIONS.length] }],
    temperature: 0.8,
    seed: i,
    max_tokens: maxTokens,
    ...(steering ? { steering } : {}),
  });
}

async function tokensGenerated(url: string): Promise<number> {
  const h = await (await fetch(`${url}/health`)).json() as { tokens: { generated: number } };
  return h.tokens.generated;
}

/** autocannon for `seconds`, every connection cycling through the request mix. */
function load(url: string, seconds: number, onResponse: (status: number, ms: number) => void): Promise<autocannon.Result> {
  return new Promise<autocannon.Result>((resolve, reject) => {
    const inst = autocannon({
      url,
      connections,
      duration: seconds,
      timeout: 120,
      requests: PLANS.map((_, i) => ({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: body(i) })),
    }, (err, res) => (err ? reject(err) : resolve(res)));
    inst.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => onResponse(status, ms));
  });
}

async function main(): Promise<void> {
  const server = await startProcess(process.execPath, [CLI, 'serve', '--port', '0', '--parallel', parallel, '--queue', queue, '--threads', threads],
    /listening on (http:\/\/\S+)/, 'persona-steer serve');
  const pid = server.child.pid!;
  try {
    // Warm-up: every plan once, so graphs and allocator pools exist before RSS is read.
    for (let i = 0; i < 8; i++) await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(i) });
    if (warmup > 0) await load(server.url, warmup, () => undefined);
    const rss: { t: number; bytes: number }[] = [];
    const t0 = Date.now();
    const sampler = setInterval(() => rss.push({ t: (Date.now() - t0) / 1000, bytes: rssOf(pid) }), 500);
    const tokens0 = await tokensGenerated(server.url);
    const ok: number[] = [];
    const statuses = new Map<number, number>();
    const result = await load(server.url, duration, (status, ms) => {
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status === 200) ok.push(ms);
    });
    clearInterval(sampler);
    const tokens = (await tokensGenerated(server.url)) - tokens0;
    ok.sort((a, b) => a - b);
    const other = [...statuses].filter(([s]) => s !== 200 && s !== 429);
    const firstQuarter = median(rss.filter((r) => r.t <= duration / 4).map((r) => r.bytes));
    const lastQuarter = median(rss.filter((r) => r.t >= (duration * 3) / 4).map((r) => r.bytes));
    const peak = Math.max(...rss.map((r) => r.bytes));
    const growth = lastQuarter - firstQuarter;
    const report = {
      duration, connections, parallel: Number(parallel), queue: Number(queue), maxTokens,
      requests: result.requests.total,
      answered: ok.length,
      rejected429: statuses.get(429) ?? 0,
      otherStatuses: Object.fromEntries(other),
      errors: result.errors,
      timeouts: result.timeouts,
      latencyMs: { p50: percentile(ok, 50), p99: percentile(ok, 99), max: ok[ok.length - 1] ?? NaN },
      tokensPerSecond: tokens / duration,
      rssMiB: { firstQuarterMedian: firstQuarter / 2 ** 20, lastQuarterMedian: lastQuarter / 2 ** 20, peak: peak / 2 ** 20, growth: growth / 2 ** 20 },
    };
    const clean = report.errors === 0 && report.timeouts === 0 && other.length === 0;
    // Flat: the last quarter within 10% (and 16 MiB) of the first.
    const flat = growth < Math.max(16 * 2 ** 20, 0.1 * firstQuarter);
    if (json) process.stdout.write(`${JSON.stringify({ ...report, clean, flat }, null, 2)}\n`);
    else {
      const f = (x: number, d = 1) => x.toFixed(d);
      process.stdout.write([
        `persona-steer serve under load: ${duration} s (after ${warmup} s of warm-up load), ${connections} connections, --parallel ${parallel} --queue ${queue}, max_tokens ${maxTokens}, toy model`,
        `  requests ${report.requests}: ${report.answered} answered, ${report.rejected429} refused with 429, other statuses ${JSON.stringify(report.otherStatuses)}, errors ${report.errors}, timeouts ${report.timeouts}`,
        `  latency of answered requests: p50 ${f(report.latencyMs.p50, 0)} ms, p99 ${f(report.latencyMs.p99, 0)} ms, max ${f(report.latencyMs.max, 0)} ms`,
        `  generated tokens: ${f(report.tokensPerSecond)} tokens/s`,
        `  server RSS: ${f(report.rssMiB.firstQuarterMedian)} MiB (first quarter, median) -> ${f(report.rssMiB.lastQuarterMedian)} MiB (last quarter), peak ${f(report.rssMiB.peak)} MiB`,
        `  RSS every ${Math.max(1, Math.round(duration / 10))} s (MiB): ${rss.filter((_, i) => i % Math.max(2, Math.round(duration / 5)) === 0).map((r) => f(r.bytes / 2 ** 20, 0)).join(' ')}`,
        `  ${clean ? 'PASS' : 'FAIL'}: no errors but 429s;  ${flat ? 'PASS' : 'FAIL'}: RSS flat`,
        '',
      ].join('\n'));
    }
    process.exitCode = clean && flat ? 0 : 1;
  } finally {
    await server.stop();
  }
}

main().catch((e) => {
  process.stderr.write(`server load test failed: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
