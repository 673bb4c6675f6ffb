"""Maps a trained ToyLlama and its vocabulary to llama.cpp's GGUF names for arch "llama"."""

from gguf_write import (BOOL, FLOAT32, GGML_F32, INT32, STRING, UINT32, GGUFWriter)

# llama.cpp detects ChatML from the "<|im_start|>" in this string (src/llama-chat.cpp); the
# Jinja text is what other runtimes render.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def write_gguf(path, model, vocab, name="toy-persona"):
    cfg = model.cfg
    w = GGUFWriter()
    w.add("general.architecture", STRING, "llama")
    w.add("general.name", STRING, name)
    w.add("general.description", STRING,
          "persona-steer toy chat model with switchable traits cheerful/gloomy, sycophantic/candid, pirate/plain")
    w.add("general.license", STRING, "MIT")
    w.add("general.file_type", UINT32, 0)  # all F32
    w.add("llama.context_length", UINT32, cfg.n_ctx)
    w.add("llama.embedding_length", UINT32, cfg.n_embd)
    w.add("llama.block_count", UINT32, cfg.n_layer)
    w.add("llama.feed_forward_length", UINT32, cfg.n_ff)
    w.add("llama.attention.head_count", UINT32, cfg.n_head)
    w.add("llama.attention.head_count_kv", UINT32, cfg.n_head)
    w.add("llama.attention.layer_norm_rms_epsilon", FLOAT32, cfg.rms_eps)
    w.add("llama.rope.freq_base", FLOAT32, cfg.rope_base)
    w.add("llama.rope.dimension_count", UINT32, cfg.head_dim)
    w.add("llama.vocab_size", UINT32, cfg.n_vocab)

    w.add("tokenizer.ggml.model", STRING, "llama")
    w.add_array("tokenizer.ggml.tokens", STRING, vocab.pieces)
    w.add_array("tokenizer.ggml.scores", FLOAT32, vocab.scores)
    w.add_array("tokenizer.ggml.token_type", INT32, vocab.types)
    w.add("tokenizer.ggml.bos_token_id", UINT32, vocab.bos_id)
    w.add("tokenizer.ggml.eos_token_id", UINT32, vocab.im_end_id)
    w.add("tokenizer.ggml.eot_token_id", UINT32, vocab.im_end_id)
    w.add("tokenizer.ggml.unknown_token_id", UINT32, vocab.unk_id)
    w.add("tokenizer.ggml.padding_token_id", UINT32, vocab.im_end_id)
    # Trained without BOS and with the text as written: no implicit tokens, no leading space.
    w.add("tokenizer.ggml.add_bos_token", BOOL, False)
    w.add("tokenizer.ggml.add_eos_token", BOOL, False)
    w.add("tokenizer.ggml.add_space_prefix", BOOL, False)
    w.add("tokenizer.chat_template", STRING, CHAT_TEMPLATE)

    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    # Tied output: no output.weight, llama.cpp reuses token_embd.weight.
    w.add_tensor("token_embd.weight", sd["tok_embd.weight"], GGML_F32)
    w.add_tensor("output_norm.weight", sd["output_norm.weight"], GGML_F32)
    names = {"attn_norm.weight": "attn_norm", "attn_q.weight": "wq", "attn_k.weight": "wk", "attn_v.weight": "wv",
             "attn_output.weight": "wo", "ffn_norm.weight": "ffn_norm", "ffn_gate.weight": "w_gate",
             "ffn_up.weight": "w_up", "ffn_down.weight": "w_down"}
    for i in range(cfg.n_layer):
        for gguf_name, torch_name in names.items():
            w.add_tensor(f"blk.{i}.{gguf_name}", sd[f"blocks.{i}.{torch_name}.weight"], GGML_F32)
    return w.write(path)
