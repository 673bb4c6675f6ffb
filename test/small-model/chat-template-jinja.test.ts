// Chat templates given as Jinja (rendered by @huggingface/jinja) or as llama.cpp built-in names,
// per call or for the whole model (Model.load's chatTemplate / jinja), against llama.cpp's own
// renderer for the same template and against texts written out by hand.
import t from 'tap';
import path from 'node:path';
import { ErrorCodes, Model } from '../../lib/index';
import { requireModel, root, stories260K } from '../helpers/models';

const TOY = path.join(root, 'models', 'toy-persona.gguf');
const MESSAGES = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi there' }];
const CUSTOM = "{{ bos_token }}{% for m in messages %}[{{ m.role | upper }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[ASSISTANT] {% endif %}";

t.test("Jinja renders the toy model's own template exactly as llama.cpp's built-in renderer does", async (t) => {
  const viaLlama = await Model.load(TOY);
  const viaJinja = await Model.load(TOY, { jinja: true });
  t.teardown(() => { viaLlama.dispose(); viaJinja.dispose(); });
  for (const addAssistant of [true, false]) {
    t.equal(viaJinja.applyChatTemplate(MESSAGES, { addAssistant }), viaLlama.applyChatTemplate(MESSAGES, { addAssistant }));
  }
  t.equal(viaJinja.applyChatTemplate(MESSAGES), '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n');
});

t.test('a Jinja template given per call renders as written, with bos_token and add_generation_prompt', async (t) => {
  const model = await Model.load(requireModel(stories260K));
  t.teardown(() => model.dispose());
  const bos = model.tokenText(model.info.bosToken);
  t.equal(model.applyChatTemplate(MESSAGES, { template: CUSTOM }), `${bos}[SYSTEM] Be brief.\n[USER] Hi there\n[ASSISTANT] `);
  t.equal(model.applyChatTemplate(MESSAGES, { template: CUSTOM, addAssistant: false }), `${bos}[SYSTEM] Be brief.\n[USER] Hi there\n`);
});

t.test("Model.load's chatTemplate gives a model without one a template that prompts and generation use", async (t) => {
  const plain = await Model.load(requireModel(stories260K));
  t.teardown(() => plain.dispose());
  t.equal(plain.info.chatTemplate, null);
  t.throws(() => plain.applyChatTemplate(MESSAGES), { code: ErrorCodes.CHAT_TEMPLATE, message: /give one as options\.template or Model\.load's options\.chatTemplate/ });

  const named = await Model.load(requireModel(stories260K), { chatTemplate: 'chatml' });
  const custom = await Model.load(requireModel(stories260K), { chatTemplate: CUSTOM });
  t.teardown(() => { named.dispose(); custom.dispose(); });
  t.equal(named.applyChatTemplate(MESSAGES), '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n', "llama.cpp's chatml");
  t.equal(custom.info.chatTemplate, CUSTOM);
  const ctx = await custom.createContext({ contextSize: 128, threads: 1 });
  t.teardown(() => ctx.dispose());
  const expected = custom.tokenize(`${custom.tokenText(custom.info.bosToken)}[SYSTEM] Be brief.\n[USER] Hi there\n[ASSISTANT] `, { addSpecial: false });
  t.same(Array.from(ctx.tokens({ messages: MESSAGES })), Array.from(expected));
  const r = await ctx.complete({ messages: MESSAGES }, { greedy: true, maxTokens: 4 });
  t.equal(r.promptTokens, expected.length);
});

t.test('bad templates are ERR_CHAT_TEMPLATE naming where the template came from', async (t) => {
  const model = await Model.load(requireModel(stories260K));
  t.teardown(() => model.dispose());
  t.throws(() => model.applyChatTemplate(MESSAGES, { template: '{% for m in messages %}' }), { code: ErrorCodes.CHAT_TEMPLATE, message: /^options\.template is not a Jinja template this renderer parses/ });
  t.throws(() => model.applyChatTemplate(MESSAGES, { template: 'no-such-template' }), { code: ErrorCodes.CHAT_TEMPLATE, message: /^options\.template is neither a Jinja template nor one of llama\.cpp's built-in template names/ });
  t.throws(() => model.applyChatTemplate(MESSAGES, { template: "{{ raise_exception('no system role') }}" }), { code: ErrorCodes.CHAT_TEMPLATE, message: /^options\.template failed to render: .*no system role/ });
  await t.rejects(Model.load(requireModel(stories260K), { chatTemplate: 3 as never }), { code: ErrorCodes.INVALID_ARG, message: /^options\.chatTemplate must be a non-empty string/ });
});
