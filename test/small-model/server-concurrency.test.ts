// Concurrent requests with different plans: each answer (text and trace) must be exactly what the
// same request gets alone, so no plan, monitor or sampler leaks from one request into another.
import t from 'tap';
import { evalQuestions } from '../../lib/toy/questions';
import { NEUTRAL_SYSTEM_PROMPT, SYSTEM_PROMPTS } from '../../lib/toy/traits';
import type { PersonaServer } from '../../lib/server/index';
import { health, json, startTestServer } from '../helpers/server';

const qs = evalQuestions().slice(10, 18).map((q) => q.question);
const msgs = (system: string, i: number) => [{ role: 'system', content: system }, { role: 'user', content: qs[i]! }];

/** Eight requests, eight different plans (and prompts, sampling, streaming or not). */
const REQUESTS: Record<string, unknown>[] = [
  { messages: msgs(NEUTRAL_SYSTEM_PROMPT, 0), temperature: 0 },
  { messages: msgs(NEUTRAL_SYSTEM_PROMPT, 1), temperature: 0, steering: [{ op: 'add', vector: 'pirate' }] },
  { messages: msgs(NEUTRAL_SYSTEM_PROMPT, 2), temperature: 0, steering: [{ op: 'add', vector: 'pirate', scale: -0.5 }], stream: true },
  { messages: msgs(NEUTRAL_SYSTEM_PROMPT, 3), temperature: 0, steering: [{ op: 'add', vector: 'cheerful' }], monitor: [{ vector: 'sycophantic' }] },
  { messages: msgs(NEUTRAL_SYSTEM_PROMPT, 4), temperature: 0, steering: [{ op: 'add', vector: 'sycophantic' }], steering_positions: 'generated', stream: true },
  { messages: msgs(SYSTEM_PROMPTS.pirate.pirate, 5), temperature: 0, steering: [{ op: 'cap', vector: 'pirate' }] },
  { messages: msgs(SYSTEM_PROMPTS.cheerful.cheerful, 6), temperature: 0, steering: [{ op: 'ablate', vector: 'cheerful', blocks: [1, 2, 3] }], stream: true },
  {
    messages: msgs(NEUTRAL_SYSTEM_PROMPT, 7), temperature: 0.9, seed: 1234,
    steering: [{ op: 'add', vector: 'cheerful', scale: 0.25 }, { op: 'cap', vector: 'pirate', max: -5, blocks: [2, 3] }], steering_positions: 'prompt',
    monitor: [{ vector: 'pirate', blocks: 'all' }, { vector: 'cheerful' }],
  },
];

interface Answer { text: string; persona: unknown }

type P = { vector: string; block: number; value: number };

function flatTrace(persona: unknown): { label: string; value: number }[] {
  if (persona === null) return [];
  const p = persona as { last_prompt: P[]; tokens: P[][] };
  return [...p.last_prompt.map((x) => ['last', x] as const), ...p.tokens.flatMap((ps, i) => ps.map((x) => [String(i), x] as const))]
    .map(([at, x]) => ({ label: `${at}:${x.vector}@${x.block}`, value: x.value }));
}

/** One request's answer; a streamed one is reassembled from its chunks. */
async function ask(server: PersonaServer, body: Record<string, unknown>): Promise<Answer> {
  const r = await json(server.url, '/v1/chat/completions', { max_tokens: 96, ...body });
  if (r.status !== 200) throw new Error(`${r.status}: ${r.body}`);
  if (body.stream !== true) {
    const b = JSON.parse(r.body);
    return { text: b.choices[0].message.content, persona: b.persona ?? null };
  }
  let text = '';
  const tokens: unknown[] = [];
  let lastPrompt: unknown = null;
  const events = r.body.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
  if (events.pop() !== '[DONE]') throw new Error('the stream did not end with [DONE]');
  for (const e of events) {
    const c = JSON.parse(e);
    text += c.choices[0]?.delta?.content ?? '';
    if (c.persona?.tokens) tokens.push(...c.persona.tokens);
    if (c.persona?.last_prompt) lastPrompt = c.persona.last_prompt;
  }
  return { text, persona: lastPrompt === null && tokens.length === 0 ? null : { last_prompt: lastPrompt, tokens } };
}

t.test('8 concurrent requests with 8 different plans return exactly what each returns alone', async (t) => {
  const server = await startTestServer({ parallel: 8 });
  t.teardown(() => server.close());
  t.equal((await health(server)).slots.total, 8, 'eight slots: the requests are decoded together');
  const together = await Promise.all(REQUESTS.map((b) => ask(server, b)));
  const alone: Answer[] = [];
  for (const b of REQUESTS) alone.push(await ask(server, b));
  for (let i = 0; i < REQUESTS.length; i++) {
    t.equal(together[i]!.text, alone[i]!.text, `request ${i}: same text`);
    // Decoded in one batch with the others, the float sums run in another order (as in the
    // library's own batching test): labels equal, values within a hundredth.
    const g = flatTrace(together[i]!.persona);
    const w = flatTrace(alone[i]!.persona);
    t.same(g.map((x) => x.label), w.map((x) => x.label), `request ${i}: same trace labels`);
    const worst = g.reduce((m, x, k) => Math.max(m, Math.abs(x.value - w[k]!.value)), 0);
    t.ok(worst < 1e-2, `request ${i}: trace values equal within ${worst.toExponential(2)}`);
  }
  // The plans differ in effect, so a leak would have shown: not every answer is the same.
  t.ok(new Set(alone.map((a) => a.text)).size === REQUESTS.length, 'eight different answers');
  t.ok(alone.filter((a) => a.persona !== null).length >= 6, 'steered and monitored requests carry traces');
});
