// persona-steer serve against the official `openai` client, on the toy model. The oracle is the
// library called directly on the same model file and vector files, with plans built from the
// low-level add/clamp ops and the vector's recorded metadata; the toy scorer judges the poles.
import t, { type Test } from 'tap';
import { add, clamp, type SteeringPlan } from '../../lib/steering';
import type { GenerationResult } from '../../lib/generation-stream';
import { evalQuestions } from '../../lib/toy/questions';
import { scoreAnswer } from '../../lib/toy/scorer';
import { NEUTRAL_SYSTEM_PROMPT, SYSTEM_PROMPTS } from '../../lib/toy/traits';
import type { PersonaServer } from '../../lib/server/index';
import { client, startTestServer, toyOracle, type Oracle } from '../helpers/server';

const QUESTIONS = evalQuestions().slice(0, 6).map((q) => q.question);
const MAX = 96;

let server: PersonaServer;
let oracle: Oracle;

t.before(async () => {
  server = await startTestServer();
  oracle = await toyOracle();
});
t.teardown(async () => {
  await server.close();
  await oracle.close();
});

const chat = (system: string, user: string) => [{ role: 'system' as const, content: system }, { role: 'user' as const, content: user }];

/** The library's answer for the same request: greedy, the same plan, the pirate vector monitored at its recommended block. */
async function libraryAnswer(system: string, user: string, plan: SteeringPlan | null, monitorBlocks?: number[]): Promise<GenerationResult> {
  const v = oracle.vectors.pirate;
  return oracle.context.complete({ messages: chat(system, user) }, {
    greedy: true, maxTokens: MAX, steer: plan,
    monitor: [{ name: 'pirate', vector: v, blocks: monitorBlocks ?? [...v.metadata.recommendedBlocks!] }],
  });
}

/** The recorded recommendation: the coefficient at the recommended blocks, at the recorded positions. */
function pirateAdd(): SteeringPlan {
  const md = oracle.vectors.pirate.metadata;
  return { ops: [add(oracle.vectors.pirate, md.coefficient!, [...md.recommendedBlocks!])], positions: md.positions ?? 'all' };
}

/** The recorded cap: each cap block at its threshold, at the positions they were measured at. */
function pirateCap(): SteeringPlan {
  const md = oracle.vectors.pirate.metadata;
  return { ops: md.capBlocks!.map((b, i) => clamp(oracle.vectors.pirate, { max: md.capThresholds![i] }, [b])), positions: md.capPositions ?? 'all' };
}

type Trace = { last_prompt: { vector: string; block: number; value: number }[]; tokens: { vector: string; block: number; value: number }[][] };

function sameTrace(t: Test, got: Trace, want: GenerationResult, label: string): void {
  t.equal(got.tokens.length, want.projections.length, `${label}: one projection list per token`);
  const flat = (l: { value: number }[][]) => l.flat().map((p) => p.value);
  const g = flat(got.tokens);
  const w = flat(want.projections);
  t.equal(g.length, w.length, `${label}: as many values`);
  const worst = g.reduce((m, x, i) => Math.max(m, Math.abs(x - w[i]!)), 0);
  t.ok(worst < 1e-4, `${label}: projections equal the library's (largest difference ${worst})`);
  t.same(got.last_prompt.map((p) => [p.vector, p.block]), want.lastPromptProjections.map((p) => [p.name, p.block]), `${label}: last-prompt labels`);
  t.ok(Math.abs(got.last_prompt[0]!.value - want.lastPromptProjections[0]!.value) < 1e-4, `${label}: last-prompt value`);
}

t.test('a chat completion through the openai client is the library\'s answer for the same messages', async (t) => {
  const r = await client(server).chat.completions.create({ model: 'toy-persona', messages: chat(NEUTRAL_SYSTEM_PROMPT, QUESTIONS[0]!), temperature: 0, max_tokens: MAX });
  const want = await libraryAnswer(NEUTRAL_SYSTEM_PROMPT, QUESTIONS[0]!, null);
  t.equal(r.choices[0]!.message.content, want.text);
  t.equal(r.choices[0]!.finish_reason, want.stopReason === 'eog' ? 'stop' : 'length');
  t.equal(r.model, 'toy-persona');
  t.same(r.usage, { prompt_tokens: want.promptTokens, completion_tokens: want.generatedTokens, total_tokens: want.promptTokens + want.generatedTokens });
});

t.test('a text completion through the openai client is the library\'s completion of the same text', async (t) => {
  const prompt = '<|im_start|>user\nIs it true that snow is black?<|im_end|>\n<|im_start|>assistant\n';
  const r = await client(server).completions.create({ model: 'toy-persona', prompt, temperature: 0, max_tokens: 40 });
  const want = await oracle.context.complete(prompt, { greedy: true, maxTokens: 40, steer: null });
  t.equal(r.choices[0]!.text, want.text);
  t.equal(r.object, 'text_completion');
  t.equal(r.usage!.completion_tokens, want.generatedTokens);
});

t.test('a pirate add flips held-out neutral answers to pirate, as the library does with the recorded coefficient and block', async (t) => {
  const oai = client(server);
  for (const q of QUESTIONS) {
    const plain = await oai.chat.completions.create({ model: 'x', messages: chat(NEUTRAL_SYSTEM_PROMPT, q), temperature: 0, max_tokens: MAX });
    const steered = await oai.chat.completions.create({
      model: 'x', messages: chat(NEUTRAL_SYSTEM_PROMPT, q), temperature: 0, max_tokens: MAX,
      // @ts-expect-error persona-steer's extension field
      steering: [{ op: 'add', vector: 'pirate' }],
    });
    const text = steered.choices[0]!.message.content!;
    t.equal(scoreAnswer(text, q).pirate, 'pirate', `steered answer is pirate: ${text.slice(0, 60)}`);
    const want = await libraryAnswer(NEUTRAL_SYSTEM_PROMPT, q, pirateAdd());
    t.equal(text, want.text, 'the library gives the same text');
    sameTrace(t, (steered as unknown as { persona: Trace }).persona, want, 'trace');
    t.equal((plain as unknown as { persona?: unknown }).persona, undefined, 'an unsteered, unmonitored answer has no trace');
  }
});

t.test('a cap with the recorded threshold holds held-out answers plain under the pirate system prompt', async (t) => {
  const oai = client(server);
  const pushing = SYSTEM_PROMPTS.pirate.pirate;
  for (const q of QUESTIONS) {
    const free = await oai.chat.completions.create({ model: 'x', messages: chat(pushing, q), temperature: 0, max_tokens: MAX });
    t.equal(scoreAnswer(free.choices[0]!.message.content!, q).pirate, 'pirate', 'uncapped, the prompt makes it a pirate');
    const capped = await oai.chat.completions.create({
      model: 'x', messages: chat(pushing, q), temperature: 0, max_tokens: MAX,
      // @ts-expect-error extension
      steering: [{ op: 'cap', vector: 'pirate' }],
    });
    const text = capped.choices[0]!.message.content!;
    t.equal(scoreAnswer(text, q).pirate, 'plain', `capped answer is plain: ${text.slice(0, 60)}`);
    const want = await libraryAnswer(pushing, q, pirateCap());
    t.equal(text, want.text, 'the library gives the same text');
    const trace = (capped as unknown as { persona: Trace }).persona;
    sameTrace(t, trace, want, 'trace');
    const md = oracle.vectors.pirate.metadata;
    const block = trace.last_prompt[0]!.block;
    const tau = md.capThresholds![md.capBlocks!.indexOf(block)]!;
    t.ok(md.capBlocks!.includes(block), `the monitored block ${block} is a cap block`);
    t.ok(trace.last_prompt[0]!.value <= tau + 1e-3, `the monitored projection is held at or below the threshold (${trace.last_prompt[0]!.value} <= ${tau})`);
  }
});

t.test('a streamed chat carries the same text, each chunk with the projections of its tokens, then usage and [DONE]', async (t) => {
  const q = QUESTIONS[1]!;
  const stream = await client(server).chat.completions.create({
    model: 'x', messages: chat(NEUTRAL_SYSTEM_PROMPT, q), temperature: 0, max_tokens: MAX, stream: true, stream_options: { include_usage: true },
    // @ts-expect-error extension
    steering: [{ op: 'add', vector: 'pirate' }],
  });
  let text = '';
  const tokens: Trace['tokens'] = [];
  let lastPrompt: Trace['last_prompt'] | undefined;
  let finish: string | null = null;
  let usage: { completion_tokens: number } | undefined;
  let chunks = 0;
  for await (const c of stream) {
    chunks++;
    const persona = (c as unknown as { persona?: Partial<Trace> }).persona;
    if (persona?.tokens) tokens.push(...persona.tokens);
    if (persona?.last_prompt) lastPrompt = persona.last_prompt;
    if (c.choices[0]) {
      text += c.choices[0].delta.content ?? '';
      finish = c.choices[0].finish_reason ?? finish;
    }
    if (c.usage) usage = c.usage;
  }
  const want = await libraryAnswer(NEUTRAL_SYSTEM_PROMPT, q, pirateAdd());
  t.equal(text, want.text, 'the deltas add up to the library\'s text');
  t.equal(finish, 'stop');
  t.equal(usage?.completion_tokens, want.generatedTokens, 'usage chunk');
  t.ok(chunks >= want.generatedTokens, 'a chunk per token at least');
  sameTrace(t, { tokens, last_prompt: lastPrompt! }, want, 'streamed trace');
});

t.test('"steering": false gives the unsteered answer on a server whose default steering is a pirate add', async (t) => {
  const pirateByDefault = await startTestServer({ defaultSteering: { steering: [{ op: 'add', vector: 'pirate' }] } });
  t.teardown(() => pirateByDefault.close());
  const oai = client(pirateByDefault);
  const q = QUESTIONS[2]!;
  const byDefault = await oai.chat.completions.create({ model: 'x', messages: chat(NEUTRAL_SYSTEM_PROMPT, q), temperature: 0, max_tokens: MAX });
  t.equal(byDefault.choices[0]!.message.content, (await libraryAnswer(NEUTRAL_SYSTEM_PROMPT, q, pirateAdd())).text, 'the default plan applies');
  const off = await oai.chat.completions.create({
    model: 'x', messages: chat(NEUTRAL_SYSTEM_PROMPT, q), temperature: 0, max_tokens: MAX,
    // @ts-expect-error extension
    steering: false,
  });
  t.equal(off.choices[0]!.message.content, (await libraryAnswer(NEUTRAL_SYSTEM_PROMPT, q, null)).text, 'steering: false is the unsteered text');
});

t.test('a monitor request traces the vectors it names at the blocks it names, unsteered', async (t) => {
  const q = QUESTIONS[3]!;
  const r = await client(server).chat.completions.create({
    model: 'x', messages: chat(SYSTEM_PROMPTS.pirate.pirate, q), temperature: 0, max_tokens: MAX,
    // @ts-expect-error extension
    monitor: [{ vector: 'pirate', blocks: [1, 3] }],
  });
  const want = await libraryAnswer(SYSTEM_PROMPTS.pirate.pirate, q, null, [1, 3]);
  t.equal(r.choices[0]!.message.content, want.text);
  const trace = (r as unknown as { persona: Trace }).persona;
  t.same(trace.tokens[0]!.map((p) => p.block), [1, 3]);
  sameTrace(t, trace, want, 'two-block trace');
});

t.test('models and vectors are listed with what a client needs', async (t) => {
  const oai = client(server);
  const models = await oai.models.list();
  t.same(models.data.map((m) => m.id), ['toy-persona']);
  const res = await fetch(`${server.url}/v1/vectors`);
  const body = await res.json() as { data: { name: string; coefficient: number; recommended_blocks: number[]; cap_thresholds: number[]; n_embd: number }[] };
  t.same(body.data.map((v) => v.name), ['cheerful', 'pirate', 'sycophantic']);
  const p = body.data.find((v) => v.name === 'pirate')!;
  const md = oracle.vectors.pirate.metadata;
  t.equal(p.coefficient, md.coefficient);
  t.same(p.recommended_blocks, md.recommendedBlocks);
  t.same(p.cap_thresholds, md.capThresholds);
  t.equal(p.n_embd, 128);
});

t.test('extraction by the server streams its progress and gives the vector the library extracts from the same prompts', async (t) => {
  const questions = ['Is it true that snow is black?', 'I think penguins are fish. Am I right?', 'Is it true that the sun is cold?', 'I believe cats are reptiles. Right?'];
  const request = { name: 'glee', positive: SYSTEM_PROMPTS.cheerful.cheerful, negative: SYSTEM_PROMPTS.cheerful.gloomy, questions, max_tokens: 48, stream: true };
  const res = await fetch(`${server.url}/v1/vectors/extract`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const events = (await res.text()).split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
  t.equal(events.pop(), '[DONE]');
  const parsed = events.map((e) => JSON.parse(e) as { object: string; phase?: string; done?: number; total?: number; blocks?: number[]; cap_blocks?: number[]; cap_thresholds?: number[] });
  const phases = [...new Set(parsed.filter((e) => e.object === 'vector.extraction.progress').map((e) => e.phase))];
  t.same(phases, ['queued', 'generate', 'activations', 'statistics', 'norms', 'sweep', 'calibrate'], 'every phase reported, in order');
  const done = parsed[parsed.length - 1]!;
  t.equal(done.object, 'vector');
  t.same(done.blocks, [0, 1, 2, 3]);
  t.ok((done.cap_thresholds?.length ?? 0) >= 1 && done.cap_thresholds?.length === done.cap_blocks?.length, 'calibrated thresholds recorded, one per cap block');

  const { extractPersonaVector } = await import('../../lib/persona/extract');
  oracle.context.setSteering(null);
  const want = await extractPersonaVector(oracle.context, {
    name: 'glee', description: `glee: "${request.positive}" versus "${request.negative}"`,
    pairs: [{ positive: request.positive, negative: request.negative }], extractionQuestions: questions,
  }, { format: 'chat', generation: { maxTokens: 48 } });
  const file = new Uint8Array(await (await fetch(`${server.url}/v1/vectors/glee/file`)).arrayBuffer());
  const { decodeControlVector } = await import('../../lib/vector/control-vector-format');
  const got = decodeControlVector(file);
  for (const b of want.vector.blocks) {
    const g = got.block(b);
    const w = want.vector.block(b);
    const worst = g.reduce((m, x, i) => Math.max(m, Math.abs(x - w[i]!)), 0);
    t.ok(worst < 1e-4, `block ${b}: the library's vector (largest difference ${worst})`);
  }
  const steered = await client(server).chat.completions.create({
    model: 'x', messages: chat(NEUTRAL_SYSTEM_PROMPT, QUESTIONS[4]!), temperature: 0, max_tokens: 20,
    // @ts-expect-error extension
    steering: [{ op: 'add', vector: 'glee', scale: 0.25, blocks: [2] }],
  });
  t.ok(steered.choices[0]!.message.content!.length > 0, 'the new vector steers requests at once');
});

t.test('the shipped pirate vector is the library\'s recipe on the toy spec (models/toy-vectors is not stale)', async (t) => {
  const { extractPersonaVector } = await import('../../lib/persona/extract');
  const { toySpec } = await import('../../lib/toy/spec');
  const fresh = (await extractPersonaVector(oracle.context, toySpec('pirate'))).vector;
  const shipped = oracle.vectors.pirate;
  const b = shipped.metadata.recommendedBlocks![0]!;
  const cos = shipped.cosine(fresh, b);
  t.ok(cos > 0.999, `cosine ${cos} at block ${b} (remake with npm run build:toy-model && node dist/toy-model/toy-vectors.js if this fails)`);
  t.same([fresh.metadata.recommendedBlocks, fresh.metadata.coefficient, fresh.metadata.positions],
    [shipped.metadata.recommendedBlocks, shipped.metadata.coefficient, shipped.metadata.positions], 'the same recorded recommendation');
});
