// The model-file fuzzer's case generator: case i of a seed is a real model with one to three
// mutations aimed where llama.cpp trusts the file (metadata values and types, array and string
// lengths, tokenizer fields, special token ids, tensor shapes, types, offsets and names,
// general.alignment, the architecture, header counts, truncation, weights). Deterministic in
// (seed, i), so any case can be rebuilt and replayed from its number.
import fs from 'node:fs';
import { seededRandom } from '../../lib/seeded-random';
import { T, cloneGguf, findKv, parseGguf, setKv, writeGguf, type GgufModel, type Kv, type Scalar } from './gguf-model';
import { requireModel, root, stories260K } from './models';
import path from 'node:path';

export interface FuzzBase {
  name: string;
  model: GgufModel;
}

export interface FuzzCase {
  i: number;
  base: string;
  /** What was done, in order: enough to understand a failure without rebuilding it. */
  mutations: string[];
  bytes: Buffer;
}

class Rand {
  private readonly next: () => number;
  constructor(seed: number) { this.next = seededRandom(seed); }
  float(): number { return this.next(); }
  int(lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo + 1)); } // [lo, hi]
  pick<T>(xs: readonly T[]): T { return xs[this.int(0, xs.length - 1)]!; }
  chance(p: number): boolean { return this.next() < p; }
}

// Every architecture name llama.cpp knows (src/llama-arch.cpp), and some it does not.
const ARCHS = ['clip', 'llama', 'llama4', 'deci', 'falcon', 'grok', 'gpt2', 'gptj', 'gptneox', 'mpt', 'baichuan', 'starcoder', 'refact',
  'bert', 'modern-bert', 'nomic-bert', 'nomic-bert-moe', 'neo-bert', 'jina-bert-v2', 'jina-bert-v3', 'eurobert', 'bloom', 'stablelm',
  'qwen', 'qwen2', 'qwen2moe', 'qwen2vl', 'qwen3', 'qwen3moe', 'qwen3next', 'qwen3vl', 'qwen3vlmoe', 'qwen35', 'qwen35moe', 'qwen4exp',
  'phi2', 'phi3', 'phimoe', 'plamo', 'plamo2', 'plamo3', 'codeshell', 'orion', 'internlm2', 'minicpm', 'minicpm3', 'gemma', 'gemma2',
  'gemma3', 'gemma3n', 'gemma4', 'gemma4-assistant', 'gemma-embedding', 'starcoder2', 'mamba', 'mamba2', 'jamba', 'falcon-h1', 'xverse',
  'command-r', 'cohere2', 'cohere2moe', 'dbrx', 'olmo', 'olmo2', 'olmoe', 'muse-glimmer', 'openelm', 'arctic', 'deepseek', 'deepseek2',
  'deepseek2-ocr', 'deepseek32', 'deepseek4', 'chatglm', 'glm4', 'glm4moe', 'glm-dsa', 'bitnet', 't5', 't5encoder', 'jais', 'jais2',
  'nemotron', 'nemotron_h', 'nemotron_h_moe', 'exaone', 'exaone4', 'exaone-moe', 'rwkv6', 'rwkv6qwen2', 'rwkv7', 'arwkv7', 'granite',
  'granitemoe', 'granitehybrid', 'graniteswitch', 'granite_swa', 'chameleon', 'wavtokenizer-dec', 'plm', 'bailingmoe', 'bailingmoe2',
  'bailingmoe3', 'dots1', 'dots3note', 'arcee', 'afmoe', 'laguna', 'ernie4_5', 'ernie4_5-moe', 'hunyuan-moe', 'hunyuan-dense', 'hunyuan_vl',
  'hy_v3', 'smollm3', 'gpt-oss', 'lfm2', 'lfm2moe', 'dream', 'smallthinker', 'llada', 'llada-moe', 'seed_oss', 'grovemoe', 'apertus',
  'minimax-01', 'minimax-m2', 'minimax-m3', 'cogvlm', 'rnd1', 'pangu-embedded', 'mistral3', 'eagle3', 'dflash', 'mistral4', 'paddleocr',
  'mimo2', 'step35', 'llama-embed', 'maincoder', 'kimi-linear', 'kimi-k3', 'talkie', 'mellum', 'nanbeige', 'qwen3tts', 'pockettts',
  '(unknown)', '', 'LLAMA', 'llama\u0000x'];

// Integer keys under the architecture's prefix that llama.cpp reads (src/llama-arch.cpp), most of
// them counts or sizes it divides by, allocates with or indexes arrays of LLAMA_MAX_LAYERS with.
const ARCH_INT_KEYS = ['vocab_size', 'context_length', 'embedding_length', 'embedding_length_out', 'block_count',
  'leading_dense_block_count', 'feed_forward_length', 'expert_feed_forward_length', 'expert_shared_feed_forward_length', 'expert_count',
  'expert_used_count', 'expert_shared_count', 'expert_group_count', 'expert_group_used_count', 'nextn_predict_layers', 'n_deepstack_layers',
  'pooling_type', 'decoder_start_token_id', 'decoder_block_count', 'rescale_every_n_layers', 'token_shift_count',
  'interleave_moe_layer_step', 'full_attention_interval', 'attention.head_count', 'attention.head_count_kv', 'attention.key_length',
  'attention.value_length', 'attention.group_norm_groups', 'attention.q_lora_rank', 'attention.kv_lora_rank', 'attention.sliding_window',
  'attention.sliding_window_pattern', 'attention.key_length_swa', 'attention.value_length_swa', 'attention.shared_kv_layers',
  'rope.dimension_count', 'rope.dimension_count_swa', 'rope.dimension_sections', 'rope.scaling.original_context_length',
  'ssm.conv_kernel', 'ssm.inner_size', 'ssm.state_size', 'ssm.time_step_rank', 'ssm.group_count', 'wkv.head_size',
  'posnet.embedding_length', 'posnet.block_count', 'convnext.embedding_length', 'convnext.block_count', 'shortconv.l_cache'];
const ARCH_FLOAT_KEYS = ['attention.layer_norm_epsilon', 'attention.layer_norm_rms_epsilon', 'attention.group_norm_epsilon',
  'attention.max_alibi_bias', 'attention.clamp_kqv', 'attention.scale', 'rope.freq_base', 'rope.freq_base_swa', 'rope.scale_linear',
  'rope.scaling.factor', 'rope.scaling.attn_factor', 'rope.scaling.yarn_log_multiplier', 'logit_scale', 'attn_logit_softcapping',
  'final_logit_softcapping', 'embedding_scale', 'residual_scale', 'expert_weights_scale'];
const ARCH_STRING_KEYS = ['rope.scaling.type', 'hidden_activation'];
const ARCH_BOOL_KEYS = ['attention.causal', 'use_parallel_residual', 'rope.scaling.finetuned', 'expert_weights_norm'];
const TOKENIZER_MODELS = ['llama', 'gpt2', 'bert', 't5', 'rwkv', 'plamo2', 'no_vocab', 'none', 'hybriddna', 'gemma4', '', 'unknown-tokenizer'];
const TOKENIZER_PRES = ['default', 'llama3', 'llama-bpe', 'deepseek-llm', 'falcon', 'gpt-2', 'qwen2', 'refact', 'tekken', 'chatglm-bpe',
  'smollm', 'bloom', 'gpt-4o', 'superbpe', 'unknown-pre', ''];
const SPECIAL_ID_KEYS = ['bos_token_id', 'eos_token_id', 'eot_token_id', 'eom_token_id', 'unknown_token_id', 'seperator_token_id',
  'padding_token_id', 'mask_token_id', 'cls_token_id', 'fim_pre_token_id', 'fim_suf_token_id', 'fim_mid_token_id'];
const SPECIAL_FLAG_KEYS = ['add_bos_token', 'add_eos_token', 'add_sep_token', 'add_space_prefix', 'remove_extra_whitespaces'];
const TEMPLATES = ['chatml', 'llama2', 'llama3', 'gemma', 'zephyr', '{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}',
  '{%', '', 'x'.repeat(70_000), '\u0000', '{% for m in messages %}{{ m.role }}\u0000{{ m.content }}{% endfor %}'];

const INT_EXTREMES = [0, 1, 2, 3, 7, 511, 512, 513, 1024, 1025, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, -1, -2, -(2 ** 31)];
const FLOAT_EXTREMES = [NaN, Infinity, -Infinity, 0, -0, -1, 1e-45, 1e38, 3.4e38, -3.4e38, 1e-30, 1, 2, 0.5, -1e-5];

function latin1(s: string): Buffer { return Buffer.from(s, 'latin1'); }
function key(kv: Kv): string { return kv.key.toString('latin1'); }

/** A byte-level BPE (gpt2) vocabulary on stories260K's weights: the fuzzer also reaches llama.cpp's BPE code. */
function bpeBase(spm: GgufModel): GgufModel {
  const m = cloneGguf(spm);
  // GPT-2's byte-to-unicode table: printable bytes stand for themselves, the others shift to U+0100+.
  const byteChar: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    byteChar.push(String.fromCodePoint(printable ? b : 256 + extra++));
  }
  const spmTokens = (findKv(spm, 'tokenizer.ggml.tokens')!.value as Buffer[]).map((b) => b.toString('utf8'));
  const n = spmTokens.length;
  const tokens: string[] = [...byteChar, '<s>', '</s>', '<unk>'];
  const seen = new Set(tokens);
  const merges: string[] = [];
  for (const t of spmTokens.slice(3)) {
    if (tokens.length >= n) break;
    const s = [...Buffer.from(t.replace(/\u2581/g, ' '), 'utf8')].map((b) => byteChar[b]).join('');
    if (s.length < 2 || seen.has(s)) continue;
    // A merge whose halves are both tokens already: BPE can only produce tokens built that way.
    for (let cut = s.length - 1; cut >= 1; cut--) {
      const a = s.slice(0, cut);
      const b = s.slice(cut);
      if (seen.has(a) && seen.has(b)) {
        merges.push(`${a} ${b}`);
        tokens.push(s);
        seen.add(s);
        break;
      }
    }
  }
  for (let k = 0; tokens.length < n; k++) tokens.push(`<pad_${k}>`);
  setKv(m, 'tokenizer.ggml.model', T.string, latin1('gpt2'));
  setKv(m, 'tokenizer.ggml.pre', T.string, latin1('default'));
  setKv(m, 'tokenizer.ggml.tokens', T.array, tokens.map((t) => Buffer.from(t, 'utf8')), T.string);
  setKv(m, 'tokenizer.ggml.token_type', T.array, tokens.map((t) => (t === '<s>' || t === '</s>' ? 3 : t === '<unk>' ? 2 : 1)), T.i32);
  setKv(m, 'tokenizer.ggml.merges', T.array, merges.map((s) => Buffer.from(s, 'utf8')), T.string);
  m.kvs = m.kvs.filter((k) => key(k) !== 'tokenizer.ggml.scores');
  setKv(m, 'tokenizer.ggml.bos_token_id', T.u32, 256);
  setKv(m, 'tokenizer.ggml.eos_token_id', T.u32, 257);
  setKv(m, 'tokenizer.ggml.unknown_token_id', T.u32, 258);
  return m;
}

/** The fuzzer's starting points: both bundled models, and stories260K with a BPE vocabulary. */
export function fuzzBases(): FuzzBase[] {
  const stories = parseGguf(fs.readFileSync(requireModel(stories260K)));
  const toy = parseGguf(fs.readFileSync(requireModel(path.join(root, 'models', 'toy-persona.gguf'))));
  return [{ name: 'stories260K', model: stories }, { name: 'toy-persona', model: toy }, { name: 'stories260K-bpe', model: bpeBase(stories) }];
}

function archOf(m: GgufModel): string {
  const kv = findKv(m, 'general.architecture');
  return kv && Buffer.isBuffer(kv.value) ? kv.value.toString('latin1') : 'llama';
}

function randomInt(r: Rand, old?: number): number {
  if (old !== undefined && r.chance(0.35)) return r.pick([old + 1, old - 1, old * 2, Math.floor(old / 2), old * 8, 0]);
  return r.chance(0.7) ? r.pick(INT_EXTREMES) : r.int(-100, 5000);
}

function randomString(r: Rand): Buffer {
  switch (r.int(0, 7)) {
    case 0: return Buffer.alloc(0);
    case 1: return Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82]); // invalid UTF-8
    case 2: return Buffer.from('a\u0000b');
    case 3: return Buffer.alloc(r.pick([300, 4096, 70_000]), 0x61);
    case 4: return latin1(r.pick(TOKENIZER_MODELS));
    case 5: return latin1(r.pick(ARCHS));
    case 6: return Buffer.from('\u{1F600}'.repeat(r.int(1, 50)), 'utf8');
    default: return latin1(`x${r.int(0, 1e6)}`);
  }
}

/** A value of `type` (a random one for arrays and unknown ids). */
function valueOfType(r: Rand, type: number, old?: Scalar): Scalar {
  switch (type) {
    case T.f32: case T.f64: return r.chance(0.7) ? r.pick(FLOAT_EXTREMES) : (typeof old === 'number' ? old * r.pick([-1, 10, 0.1, 1e6]) : r.float());
    case T.bool: return r.chance(0.5);
    case T.string: return randomString(r);
    case T.u64: case T.i64: return r.pick([0n, 1n, -1n, 2n ** 32n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 40n, BigInt(r.int(0, 1000))]);
    default: return randomInt(r, typeof old === 'number' ? old : undefined);
  }
}

// --- the mutations; each returns a description -----------------------------------------------

type Mutation = (m: GgufModel, r: Rand) => string;

const mutateKvValue: Mutation = (m, r) => {
  const kv = r.pick(m.kvs);
  if (kv.type === T.array) {
    const arr = kv.value as Scalar[];
    if (arr.length > 0 && r.chance(0.6)) {
      const i = r.int(0, arr.length - 1);
      arr[i] = valueOfType(r, kv.elemType ?? T.u8, arr[i]);
      return `${key(kv)}[${i}] = ${String(arr[i]).slice(0, 30)}`;
    }
    const n = r.pick([0, 1, Math.floor(arr.length / 2), arr.length - 1, arr.length + 1, arr.length * 2]);
    kv.value = Array.from({ length: n }, (_, k) => arr[k % Math.max(1, arr.length)] ?? valueOfType(r, kv.elemType ?? T.u8));
    return `${key(kv)} resized ${arr.length} -> ${n}`;
  }
  const v = valueOfType(r, kv.type, kv.value as Scalar);
  kv.value = v;
  return `${key(kv)} = ${Buffer.isBuffer(v) ? `<${v.length} bytes>` : String(v)}`;
};

const mutateKvType: Mutation = (m, r) => {
  const kv = r.pick(m.kvs);
  const to = r.pick([T.u8, T.i8, T.u16, T.i16, T.u32, T.i32, T.f32, T.bool, T.string, T.u64, T.i64, T.f64, T.array, 13, 255]);
  const from = kv.type;
  if (to === T.array) {
    kv.elemType = r.pick([T.u32, T.i32, T.f32, T.string, T.u8]);
    kv.value = Array.from({ length: r.int(0, 600) }, () => valueOfType(r, kv.elemType!));
  } else if (from === T.array && r.chance(0.5)) {
    kv.elemType = r.pick([T.u8, T.i32, T.f32, T.string, T.bool, T.u64, T.array]);
    const arr = kv.value as Scalar[];
    kv.value = arr.map(() => valueOfType(r, kv.elemType!));
    return `${key(kv)} elements retyped to ${kv.elemType}`;
  } else {
    kv.value = valueOfType(r, to, Array.isArray(kv.value) ? undefined : kv.value);
  }
  kv.type = to;
  return `${key(kv)} retyped ${from} -> ${to}`;
};

const setArchKey: Mutation = (m, r) => {
  const arch = archOf(m);
  const kind = r.int(0, 9);
  if (kind <= 5) {
    const k = `${arch}.${r.pick(ARCH_INT_KEYS)}`;
    if (r.chance(0.2)) {
      // Per-block values, the form llama.cpp also reads for head counts and feed-forward sizes.
      const n = r.pick([1, 4, 5, 6, 512, 513]);
      const vals = Array.from({ length: n }, () => (r.chance(0.8) ? r.int(0, 64) : randomInt(r)));
      setKv(m, k, T.array, vals, r.pick([T.u32, T.i32]));
      return `${k} = [${n} per-block values]`;
    }
    const v = randomInt(r);
    setKv(m, k, r.chance(0.85) ? T.u32 : r.pick([T.i32, T.u64, T.u16]), r.chance(0.85) ? v >>> 0 : v);
    return `${k} = ${v}`;
  }
  if (kind <= 7) {
    const k = `${arch}.${r.pick(ARCH_FLOAT_KEYS)}`;
    const v = valueOfType(r, T.f32) as number;
    setKv(m, k, r.chance(0.85) ? T.f32 : T.f64, v);
    return `${k} = ${v}`;
  }
  if (kind === 8) {
    const k = `${arch}.${r.pick(ARCH_STRING_KEYS)}`;
    const v = r.chance(0.5) ? r.pick(['none', 'linear', 'yarn', 'longrope', 'YaRN', 'dynamic', '']) : randomString(r).toString('latin1');
    setKv(m, k, T.string, latin1(v));
    return `${k} = "${v.slice(0, 20)}"`;
  }
  const k = `${arch}.${r.pick(ARCH_BOOL_KEYS)}`;
  setKv(m, k, T.bool, r.chance(0.5));
  return `${k} flipped`;
};

const swapArch: Mutation = (m, r) => {
  const from = archOf(m);
  const to = r.pick(ARCHS);
  setKv(m, 'general.architecture', T.string, latin1(to));
  // Usually the hyperparameters follow, so the new architecture's own loader runs.
  if (r.chance(0.8)) {
    for (const kv of m.kvs) {
      const k = key(kv);
      if (k.startsWith(`${from}.`)) kv.key = latin1(`${to}.${k.slice(from.length + 1)}`);
    }
  }
  return `architecture ${from} -> ${JSON.stringify(to)}`;
};

const mutateTokens: Mutation = (m, r) => {
  const kv = findKv(m, 'tokenizer.ggml.tokens');
  if (!kv || !Array.isArray(kv.value) || kv.elemType !== T.string || kv.value.length === 0) return 'no token strings to change';
  const toks = kv.value as Buffer[];
  const n = toks.length;
  switch (r.int(0, 11)) {
    case 0: kv.value = toks.map(() => latin1('a')); return 'every token string identical';
    case 1: kv.value = toks.map(() => Buffer.alloc(0)); return 'every token string empty';
    case 2: { const i = r.int(0, n - 1); const j = r.int(0, n - 1); toks[j] = Buffer.from(toks[i]!); return `token ${j} = token ${i}`; }
    case 3: { for (let k = 0; k < 20; k++) toks[r.int(0, n - 1)] = Buffer.alloc(0); return '20 token strings emptied'; }
    case 4: { const len = r.pick([0, 1, 3, n - 1]); kv.value = toks.slice(0, len); return `token list cut to ${len}`; }
    case 5: { const add = r.pick([1, 100, 10_000]); kv.value = [...toks, ...Array.from({ length: add }, (_, k) => latin1(`extra_${k}`))]; return `${add} tokens appended`; }
    case 6: { const i = r.int(0, n - 1); toks[i] = Buffer.from([0xff, 0xc3, 0x00, 0x41]); return `token ${i} invalid UTF-8 with NUL`; }
    case 7: { const i = r.int(0, n - 1); toks[i] = Buffer.alloc(r.pick([256, 300, 70_000]), 0x62); return `token ${i} ${toks[i]!.length} bytes long`; }
    case 8: { for (let k = 0; k < n; k++) if (/^<0x[0-9A-F]{2}>$/.test(toks[k]!.toString('latin1'))) toks[k] = latin1(`nobyte${k}`); return 'byte tokens <0xNN> removed'; }
    case 9: { const i = r.int(0, n - 1); toks[i] = latin1(r.pick(['<s>', '</s>', '<unk>', '<|im_start|>', '\n', ' ', '\u2581'])); return `token ${i} = a special string`; }
    case 10: { for (let k = n - 1; k > 0; k--) { const j = r.int(0, k); [toks[k], toks[j]] = [toks[j]!, toks[k]!]; } return 'token strings shuffled'; }
    default: { kv.elemType = r.pick([T.u32, T.i32, T.f32]); kv.value = toks.map((_, k) => k); return `token list elements retyped to ${kv.elemType}`; }
  }
};

const mutateTokenSideArrays: Mutation = (m, r) => {
  const k = r.pick(['tokenizer.ggml.scores', 'tokenizer.ggml.token_type', 'tokenizer.ggml.merges']);
  const kv = findKv(m, k);
  if (!kv) {
    if (k === 'tokenizer.ggml.merges') { setKv(m, k, T.array, [latin1('a b'), latin1('ab c'), latin1('x'), latin1(' '), latin1('')], T.string); return 'merges added'; }
    return `no ${k}`;
  }
  const arr = kv.value as Scalar[];
  switch (r.int(0, 5)) {
    case 0: kv.value = arr.slice(0, r.int(0, arr.length - 1)); return `${k} cut`;
    case 1: kv.value = arr.map(() => valueOfType(r, kv.elemType ?? T.i32)); return `${k} every value random`;
    case 2: { for (let i = 0; i < 10 && arr.length; i++) arr[r.int(0, arr.length - 1)] = valueOfType(r, kv.elemType ?? T.i32); return `${k} 10 values random`; }
    case 3: kv.value = arr.map(() => r.pick([-1, 0, 6, 7, 99, 2 ** 31 - 1])); kv.elemType = T.i32; return `${k} out-of-range values`;
    case 4: m.kvs = m.kvs.filter((x) => x !== kv); return `${k} removed`;
    default: kv.elemType = T.string; kv.value = arr.map((_, i) => latin1(r.chance(0.5) ? `m${i} n${i}` : 'nospace')); return `${k} became strings`;
  }
};

const mutateTokenizerFields: Mutation = (m, r) => {
  switch (r.int(0, 4)) {
    case 0: { const v = r.pick(TOKENIZER_MODELS); setKv(m, 'tokenizer.ggml.model', T.string, latin1(v)); return `tokenizer.ggml.model = "${v}"`; }
    case 1: { const v = r.pick(TOKENIZER_PRES); setKv(m, 'tokenizer.ggml.pre', T.string, latin1(v)); return `tokenizer.ggml.pre = "${v}"`; }
    case 2: {
      const k = `tokenizer.ggml.${r.pick(SPECIAL_ID_KEYS)}`;
      const v = r.pick([-1, 0, 1, 2, 511, 512, 1277, 1278, 2 ** 31 - 1, 2 ** 32 - 1, r.int(0, 2000)]);
      setKv(m, k, r.chance(0.9) ? T.u32 : T.i32, r.chance(0.9) ? v >>> 0 : v);
      return `${k} = ${v}`;
    }
    case 3: { const k = `tokenizer.ggml.${r.pick(SPECIAL_FLAG_KEYS)}`; setKv(m, k, T.bool, r.chance(0.5)); return `${k} set`; }
    default: { const v = r.pick(TEMPLATES); setKv(m, 'tokenizer.chat_template', T.string, Buffer.from(v, 'utf8')); return `chat template of ${v.length} chars`; }
  }
};

const mutateTensor: Mutation = (m, r) => {
  const t = r.pick(m.tensors);
  const name = t.name.toString('latin1');
  switch (r.int(0, 9)) {
    case 0: { const d = r.int(0, t.dims.length - 1); const v = r.pick([0n, 1n, 2n, t.dims[d]! * 2n, t.dims[d]! + 1n, 2n ** 40n, 2n ** 63n - 1n, 2n ** 64n - 1n]); t.dims[d] = v; return `${name} dim ${d} = ${v}`; }
    case 1: t.dims.reverse(); return `${name} dims reversed`;
    case 2: { const nd = r.pick([0, 1, 3, 4, 5, 100]); t.dims = Array.from({ length: nd }, (_, k) => t.dims[k] ?? 1n); return `${name} ${nd} dims`; }
    case 3: { const v = r.pick([1, 2, 3, 8, 12, 14, 16, 20, 24, 28, 30, 31, 34, 39, 40, 41, 255, 1000, 2 ** 32 - 1]); t.type = v; return `${name} type ${v}`; }
    case 4: { const v = t.offset + BigInt(r.pick([1, 4, 31, 32, -32, 64])); t.offset = v < 0n ? 0n : v; return `${name} offset ${v}`; }
    case 5: { const v = r.pick([2n ** 32n, 2n ** 62n, 2n ** 64n - 32n, BigInt(m.data.length), BigInt(m.data.length - 32)]); t.offset = v; return `${name} offset ${v}`; }
    case 6: { const o = r.pick(m.tensors); t.offset = o.offset; return `${name} shares ${o.name.toString('latin1')}'s data`; }
    case 7: { const o = r.pick(m.tensors); t.name = Buffer.from(o.name); return `${name} renamed to ${o.name.toString('latin1')}`; }
    case 8: { t.name = r.chance(0.5) ? latin1(`blk.${r.int(0, 600)}.${name.split('.').slice(-2).join('.')}`) : randomString(r); return `${name} renamed`; }
    default: { m.tensors = m.tensors.filter((x) => x !== t); return `${name} removed`; }
  }
};

const mutateTensorList: Mutation = (m, r) => {
  if (r.chance(0.5)) {
    const t = r.pick(m.tensors);
    m.tensors.push({ ...t, name: Buffer.from(t.name), dims: [...t.dims] });
    return `${t.name.toString('latin1')} listed twice`;
  }
  m.tensors.push({ name: latin1(r.pick(['rope_freqs.weight', 'blk.0.ffn_gate_inp.weight', 'output.bias', 'blk.4.attn_q_norm.weight', 'junk'])),
    dims: [64n, r.pick([1n, 8n, 64n])], type: 0, offset: 0n });
  return 'an extra tensor listed';
};

const mutateAlignment: Mutation = (m, r) => {
  const v = r.pick([0, 1, 2, 3, 8, 16, 31, 64, 4096, 2 ** 31, 2 ** 32 - 1]);
  const type = r.chance(0.85) ? T.u32 : r.pick([T.u64, T.i32, T.string]);
  setKv(m, 'general.alignment', type, type === T.string ? latin1(String(v)) : type === T.u64 ? BigInt(v) : v);
  return `general.alignment = ${v} (type ${type})`;
};

const mutateSplit: Mutation = (m, r) => {
  setKv(m, 'split.count', T.u16, r.pick([0, 1, 2, 3, 65535]));
  setKv(m, 'split.no', T.u16, r.pick([0, 1, 5]));
  if (r.chance(0.5)) setKv(m, 'split.tensors.count', T.i32, r.pick([0, 48, -1, 100000]));
  return 'split metadata';
};

const mutateWeights: Mutation = (m, r) => {
  const data = Buffer.from(m.data);
  const bits = r.pick([0x7fc00000, 0x7f800000, 0xff800000, 0x7f7fffff, 0x00000001]);
  const start = 4 * r.int(0, Math.floor(data.length / 4) - 257);
  for (let k = 0; k < 256; k++) data.writeUInt32LE(bits, start + 4 * k);
  m.data = data;
  return `256 weights = 0x${bits.toString(16)} at ${start}`;
};

const mutateVersion: Mutation = (m, r) => { m.version = r.pick([0, 1, 2, 4, 0xffffffff]); return `version ${m.version}`; };

const dropKv: Mutation = (m, r) => {
  const kv = r.pick(m.kvs);
  m.kvs = m.kvs.filter((x) => x !== kv);
  return `${key(kv)} removed`;
};

const duplicateKv: Mutation = (m, r) => {
  const kv = r.pick(m.kvs);
  m.kvs.push({ ...kv, key: Buffer.from(kv.key) });
  return `${key(kv)} listed twice`;
};

// Weighted: metadata and tokenizer first, where llama.cpp trusts most.
const MUTATIONS: [number, string, Mutation][] = [
  [12, 'kv-value', mutateKvValue], [5, 'kv-type', mutateKvType], [16, 'arch-key', setArchKey], [6, 'arch', swapArch],
  [9, 'tokens', mutateTokens], [6, 'token-arrays', mutateTokenSideArrays], [8, 'tokenizer', mutateTokenizerFields],
  [10, 'tensor', mutateTensor], [3, 'tensor-list', mutateTensorList], [3, 'alignment', mutateAlignment], [1, 'split', mutateSplit],
  [3, 'weights', mutateWeights], [1, 'version', mutateVersion], [3, 'drop-kv', dropKv], [2, 'dup-kv', duplicateKv],
];
const TOTAL_WEIGHT = MUTATIONS.reduce((s, [w]) => s + w, 0);

function pickMutation(r: Rand): [string, Mutation] {
  let x = r.float() * TOTAL_WEIGHT;
  for (const [w, name, f] of MUTATIONS) {
    x -= w;
    if (x < 0) return [name, f];
  }
  return [MUTATIONS[0]![1], MUTATIONS[0]![2]];
}

/** Byte-level damage after writing: truncation, flipped header bytes, extreme header counts. */
function damageBytes(bytes: Buffer, headerEnd: number, r: Rand): [Buffer, string] {
  switch (r.int(0, 3)) {
    case 0: { const n = r.chance(0.7) ? r.int(0, headerEnd) : r.int(headerEnd, bytes.length - 1); return [bytes.subarray(0, n), `truncated to ${n} bytes`]; }
    case 1: {
      const b = Buffer.from(bytes);
      const at: number[] = [];
      for (let k = r.int(1, 4); k > 0; k--) { const p = r.int(4, headerEnd - 1); b[p] ^= r.int(1, 255); at.push(p); }
      return [b, `header bytes flipped at ${at.join(', ')}`];
    }
    case 2: {
      const b = Buffer.from(bytes);
      const field = r.pick([8, 16]); // tensor count, key/value count
      const v = r.pick([0n, 1n, 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n, b.readBigUInt64LE(field) + 1n]);
      b.writeBigUInt64LE(BigInt.asUintN(64, v), field);
      return [b, `${field === 8 ? 'tensor' : 'key/value'} count = ${v}`];
    }
    default: return [Buffer.concat([bytes, bytes.subarray(0, r.int(1, 4096))]), 'bytes appended'];
  }
}

/** Case i of the seed. */
export function makeFuzzCase(bases: FuzzBase[], seed: number, i: number): FuzzCase {
  const r = new Rand((seed * 0x9e3779b1 + i * 0x85ebca6b) >>> 0);
  const base = r.pick(bases);
  const m = cloneGguf(base.model);
  const mutations: string[] = [];
  const count = r.pick([1, 1, 1, 2, 2, 3]);
  for (let k = 0; k < count; k++) {
    const [name, f] = pickMutation(r);
    mutations.push(`${name}: ${f(m, r)}`);
  }
  let bytes = writeGguf(m);
  if (r.chance(0.08)) {
    const headerEnd = bytes.length - m.data.length;
    const [b, what] = damageBytes(bytes, headerEnd, r);
    bytes = b;
    mutations.push(`bytes: ${what}`);
  }
  return { i, base: base.name, mutations, bytes };
}
