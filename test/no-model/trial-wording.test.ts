// What a new user reads: CLI errors in flags (cliWording), chat commands quoted as typed, plot axes
// with round ticks and a legend beside the data, model.info accepted where a model shape is asked
// for, a warning for another source model file, cap(v) without thresholds, and received objects
// described by their keys. Oracles: the expected texts and numbers written out here.
import t from 'tap';
import { cliWording } from '../../lib/cli/api-words';
import { parseChatCommand } from '../../lib/cli/chat';
import { specOps, type SteerSpec } from '../../lib/cli/steer-flags';
import { lineChart, niceTicks } from '../../lib/cli/svg';
import { describe } from '../../lib/errors';
import { cap } from '../../lib/persona/steer';
import { checkVectorFitsModel } from '../../lib/vector/model-fit';
import { PersonaVector } from '../../lib/vector/persona-vector';

const flags = (...f: string[]) => new Set(f);

t.test("API option paths in a message become the running command's flags", async (t) => {
  const f = flags('context-size', 'max-tokens', 'top-k', 'json-schema', 'flash-attn', 'cache-type-v', 'chat-template', 'format', 'chat');
  t.equal(cliWording('options.maxTokens must be an integer in [1, 1048576]; received 0', f), '--max-tokens must be an integer in [1, 1048576]; received 0');
  t.equal(cliWording('options.topK must be ...', f), '--top-k must be ...');
  t.equal(cliWording('options.jsonSchema.properties.a.pattern must be a keyword', f), '--json-schema.properties.a.pattern must be a keyword');
  t.equal(cliWording('options.kvCacheType.v must be x unless options.flashAttention is true (llama.cpp)', f), '--cache-type-v must be x unless --flash-attn is given (llama.cpp)');
  t.equal(cliWording('prompt has 803 tokens but the context holds 256 per sequence; create the context with a larger options.contextSize', f),
    'prompt has 803 tokens but the context holds 256 per sequence; give a larger --context-size');
  t.equal(cliWording("options.seed must be ...", f), 'options.seed must be ...', 'an option the command has no flag for is left as it is');
});

t.test("the API's advice about plain prompts and chat templates becomes the flags that give it", async (t) => {
  const msg = "options.format defaults to 'chat' but the model has no chat template; pass format: 'plain' (or a function) to build prompts as plain text";
  t.equal(cliWording(msg, flags('format', 'chat-template')),
    "--format defaults to 'chat' but the model has no chat template; use --format plain to build prompts as plain text, or give a template with --chat-template");
  const none = "the model has no chat template (tokenizer.chat_template); give one as options.template or Model.load's options.chatTemplate, or format prompts as plain text";
  t.match(cliWording(none, flags('chat', 'chat-template')), /give one with --chat-template \(a llama\.cpp template name or a Jinja template\), or leave out --chat/);
  t.match(cliWording(none, flags('format', 'chat-template')), /, or use --format plain$/);
  t.notMatch(cliWording(none, flags('format', 'chat-template')), /options\.|format: 'plain'/);
});

t.test('a chat command that names a block the file lacks is quoted as typed', async (t) => {
  const v = PersonaVector.fromBlocks({ 1: [1, 0], 2: [0, 1] }, { coefficient: 1, recommendedBlocks: [1] });
  const c = parseChatCommand('/add f.gguf 0.5 9');
  t.equal(c.kind, 'spec');
  t.throws(() => specOps((c as { spec: SteerSpec }).spec, v), { message: /^\/add f\.gguf 0\.5 9: block 9 is not in f\.gguf \(it has 1, 2\)$/ });
  t.throws(() => specOps({ kind: 'add', file: 'f.gguf', blocks: [9], label: '--add f.gguf@9' }, v), { message: /^--add f\.gguf@9: block 9/ });
});

t.test('axis ticks are round numbers: steps of 1, 2, 2.5 or 5 times a power of ten covering the data', async (t) => {
  t.same(niceTicks(-22.1, 43.4).ticks, [-40, -20, 0, 20, 40, 60]);
  t.same(niceTicks(0, 1.957).ticks, [0, 0.5, 1, 1.5, 2]);
  t.same(niceTicks(0, 167.1).ticks, [0, 50, 100, 150, 200]);
  t.same(niceTicks(0, 10).ticks, [0, 2.5, 5, 7.5, 10]);
  t.same(niceTicks(-0.0031, 0.0042).ticks, [-0.004, -0.002, 0, 0.002, 0.004, 0.006]);
  for (const [lo, hi] of [[-13.4, 2.7], [0.3, 0.31], [-1e6, 3e6], [0, 0]]) {
    const r = niceTicks(lo, hi);
    t.ok(r.lo <= Math.min(lo, hi) && r.hi >= Math.max(lo, hi), `[${r.lo}, ${r.hi}] covers [${lo}, ${hi}]`);
    const step = r.ticks[1] - r.ticks[0];
    const mantissa = step / 10 ** Math.floor(Math.log10(step));
    t.ok([1, 2, 2.5, 5].some((m) => Math.abs(mantissa - m) < 1e-9), `step ${step}`);
  }
});

t.test("the line chart's legend sits right of the plotted data, never over it", async (t) => {
  const svg = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'pirate@3', values: [0, 5, 10, 7] }, { name: 'cheerful@2', values: [1, 2, 3, 4] }] });
  const xs = [...svg.matchAll(/<polyline[^>]* points="([^"]*)"/g)].flatMap((m) => m[1].split(' ').map((p) => Number(p.split(',')[0])));
  const legend = [...svg.matchAll(/<text x="([\d.]+)"[^>]*fill="#[0-9a-f]{6}">(pirate@3|cheerful@2)</g)].map((m) => Number(m[1]));
  t.equal(legend.length, 2);
  t.ok(Math.min(...legend) > Math.max(...xs), `legend x ${legend} right of data x <= ${Math.max(...xs)}`);
  const ticks = [...svg.matchAll(/text-anchor="end" font-size="11">([^<]+)</g)].map((m) => m[1]);
  t.same(ticks, ['0.0', '2.5', '5.0', '7.5', '10.0']);
});

t.test("checkVectorFitsModel takes model.info's terms as they are", async (t) => {
  const v = PersonaVector.fromBlocks({ 1: [1, 2] });
  t.strictSame(checkVectorFitsModel(v, { embeddingSize: 2, blockCount: 4, architecture: 'llama' }), []);
  t.throws(() => checkVectorFitsModel(v, { embeddingSize: 3, blockCount: 4 }), { code: 'ERR_MODEL_MISMATCH', message: 'the vector has embedding size 2 but the model has embedding size 3' });
  t.throws(() => checkVectorFitsModel(v, { embeddingSize: 2 } as never), { code: 'ERR_INVALID_ARG', message: /^model\.blockCount must be a positive integer; received undefined/ });
});

t.test('a vector extracted from another model file of the same shape gets a warning naming both hashes', async (t) => {
  const v = PersonaVector.fromBlocks({ 1: [1, 2] }, { source: { architecture: 'llama', blockCount: 4, embeddingSize: 2, hash: 'sha256-ends:aaa' } });
  t.strictSame(checkVectorFitsModel(v, { embeddingSize: 2, blockCount: 4, hash: 'sha256-ends:aaa' }), []);
  const w = checkVectorFitsModel(v, { embeddingSize: 2, blockCount: 4, hash: 'sha256-ends:bbb' });
  t.equal(w.length, 1);
  t.match(w[0], /extracted from another model file \(recorded hash sha256-ends:aaa, this model's sha256-ends:bbb\)/);
});

t.test('cap(v) with no options on a vector without recorded thresholds says what to run', async (t) => {
  const v = PersonaVector.fromBlocks({ 1: [1, 0] });
  t.throws(() => cap(v), { code: 'ERR_INVALID_ARG', message: /^options must be given \(cap\(vector\) alone caps at the vector's recorded thresholds, and this vector's metadata has no capThresholds: calibrate them with calibrateCap.*; received undefined$/ });
  t.throws(() => cap(v, {}), { message: /^options must be an object with max or min .*; received an object with no keys \(\{\}\)$/ });
});

t.test('received objects are described by their keys or class', async (t) => {
  t.equal(describe({}), 'an object with no keys ({})');
  t.equal(describe({ nEmbd: 1, nLayer: 2 }), 'an object with keys nEmbd, nLayer');
  t.equal(describe({ a: 1 }), 'an object with key a');
  t.equal(describe(new Map()), 'an object (Map)');
  t.equal(describe(PersonaVector.fromBlocks({ 0: [1] })), 'an object (PersonaVector)');
});
