// Checks the toy persona model with llama.cpp itself (not with the Python that made it):
//   check_model MODEL [--roundtrip roundtrip.bin] [--reference reference.bin]
//                     [--prompts prompts.tsv --out generations.tsv [--samples N --temp T]] [--threads N]
// Always: the file loads, the special tokens are control tokens, <|im_end|> ends generation,
// and the embedded chat template is recognised as ChatML. Each option adds a check:
//   --roundtrip  llama_tokenize(parse_special) of every corpus text equals the training ids,
//                and llama_detokenize gives the text back byte for byte;
//   --reference  llama.cpp's logits equal torch's for the same tokens (RoPE layout, weights);
//   --prompts    one answer per line "id<TAB>system<TAB>user": greedy, or with --samples N,
//                N answers at temperature --temp, seed 1000 * line index + 1..N. Written "id<TAB>seed<TAB>answer"
//                with \n, \t and \\ escaped; evaluate.ts here scores them.
// Exit status 0 only if every check passed.

#include "llama.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

static int g_failures = 0;

static void check(bool ok, const std::string & what) {
    std::printf("%s %s\n", ok ? "PASS" : "FAIL", what.c_str());
    if (!ok) g_failures++;
}

static void quiet_log(ggml_log_level level, const char * text, void *) {
    if (level == GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
}

static std::vector<llama_token> tokenize(const llama_vocab * vocab, const std::string & text) {
    int n = -llama_tokenize(vocab, text.data(), (int32_t) text.size(), nullptr, 0, true, true);
    std::vector<llama_token> ids(n);
    if (n > 0) llama_tokenize(vocab, text.data(), (int32_t) text.size(), ids.data(), n, true, true);
    return ids;
}

static std::string detokenize(const llama_vocab * vocab, const std::vector<llama_token> & ids) {
    std::string out(ids.size() * 16 + 16, '\0');
    int n = llama_detokenize(vocab, ids.data(), (int32_t) ids.size(), out.data(), (int32_t) out.size(), false, true);
    if (n < 0) {
        out.resize(-n);
        n = llama_detokenize(vocab, ids.data(), (int32_t) ids.size(), out.data(), (int32_t) out.size(), false, true);
    }
    out.resize(n);
    return out;
}

static bool read_u32(std::ifstream & f, uint32_t & v) {
    return (bool) f.read(reinterpret_cast<char *>(&v), 4);
}

static void check_basics(const llama_model * model) {
    const llama_vocab * vocab = llama_model_get_vocab(model);
    std::printf("model: %d blocks, n_embd %d, vocab %d (type %d = SPM)\n", llama_model_n_layer(model),
                llama_model_n_embd(model), llama_vocab_n_tokens(vocab), (int) llama_vocab_type(vocab));
    check(llama_vocab_type(vocab) == LLAMA_VOCAB_TYPE_SPM, "tokenizer is SentencePiece-style (llama)");
    for (const char * special : {"<|im_start|>", "<|im_end|>"}) {
        std::vector<llama_token> ids = tokenize(vocab, special);
        check(ids.size() == 1 && (llama_vocab_get_attr(vocab, ids[0]) & LLAMA_TOKEN_ATTR_CONTROL),
              std::string(special) + " is one control token");
    }
    llama_token im_end = tokenize(vocab, "<|im_end|>")[0];
    check(llama_vocab_eos(vocab) == im_end && llama_vocab_eot(vocab) == im_end && llama_vocab_is_eog(vocab, im_end),
          "<|im_end|> is EOS, EOT and end of generation");
}

static void check_template(const llama_model * model) {
    const char * tmpl = llama_model_chat_template(model, nullptr);
    check(tmpl != nullptr && std::strstr(tmpl, "<|im_start|>") != nullptr, "model carries a ChatML chat template");
    if (!tmpl) return;
    llama_chat_message chat[] = {{"system", "You are a gloomy assistant."}, {"user", "I think snow is black. Right?"}};
    const std::string want = "<|im_start|>system\nYou are a gloomy assistant.<|im_end|>\n"
                             "<|im_start|>user\nI think snow is black. Right?<|im_end|>\n<|im_start|>assistant\n";
    std::vector<char> buf(1024);
    // In this llama.cpp the function takes no model: tmpl = NULL means the built-in "chatml", so the
    // model's own template string is passed to prove that it is detected as ChatML.
    int n_model = llama_chat_apply_template(tmpl, chat, 2, true, buf.data(), (int32_t) buf.size());
    std::string got_model(buf.data(), n_model > 0 ? n_model : 0);
    int n_null = llama_chat_apply_template(nullptr, chat, 2, true, buf.data(), (int32_t) buf.size());
    std::string got_null(buf.data(), n_null > 0 ? n_null : 0);
    check(got_model == want, "llama_chat_apply_template(model's template) formats ChatML");
    check(got_null == want, "llama_chat_apply_template(NULL) formats the same ChatML");
}

static void check_roundtrip(const llama_vocab * vocab, const std::string & path) {
    std::ifstream f(path, std::ios::binary);
    uint32_t n = 0;
    if (!f || !read_u32(f, n)) return check(false, "read " + path);
    size_t ids_differ = 0, text_differs = 0, tokens = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = 0, n_ids = 0;
        read_u32(f, len);
        std::string text(len, '\0');
        f.read(text.data(), len);
        read_u32(f, n_ids);
        std::vector<llama_token> want(n_ids);
        f.read(reinterpret_cast<char *>(want.data()), 4 * (std::streamsize) n_ids);
        std::vector<llama_token> got = tokenize(vocab, text);
        tokens += got.size();
        if (got != want) {
            if (ids_differ++ < 3) std::printf("  ids differ for: %s\n", text.c_str());
        }
        if (detokenize(vocab, got) != text) {
            if (text_differs++ < 3) std::printf("  text differs for: %s\n", text.c_str());
        }
    }
    check(f.good() && ids_differ == 0, "llama_tokenize equals the training ids for all " + std::to_string(n) +
                                           " transcripts (" + std::to_string(tokens) + " tokens)");
    check(f.good() && text_differs == 0, "llama_detokenize gives every transcript back exactly");
}

static void check_reference(llama_context * ctx, const std::string & path) {
    std::ifstream f(path, std::ios::binary);
    uint32_t n_seq = 0, n_vocab = 0;
    if (!f || !read_u32(f, n_seq) || !read_u32(f, n_vocab)) return check(false, "read " + path);
    double max_diff = 0, max_ref = 0;
    size_t argmax_differ = 0, positions = 0;
    for (uint32_t s = 0; s < n_seq; s++) {
        uint32_t T = 0;
        read_u32(f, T);
        std::vector<llama_token> ids(T);
        f.read(reinterpret_cast<char *>(ids.data()), 4 * (std::streamsize) T);
        std::vector<float> ref((size_t) T * n_vocab);
        f.read(reinterpret_cast<char *>(ref.data()), 4 * (std::streamsize) ref.size());
        llama_memory_clear(llama_get_memory(ctx), true);
        llama_batch batch = llama_batch_init((int32_t) T, 0, 1);
        for (uint32_t t = 0; t < T; t++) {
            batch.token[t] = ids[t];
            batch.pos[t] = (llama_pos) t;
            batch.n_seq_id[t] = 1;
            batch.seq_id[t][0] = 0;
            batch.logits[t] = 1;
        }
        batch.n_tokens = (int32_t) T;
        if (llama_decode(ctx, batch) != 0) {
            llama_batch_free(batch);
            return check(false, "llama_decode of reference tokens");
        }
        for (uint32_t t = 0; t < T; t++) {
            const float * got = llama_get_logits_ith(ctx, (int32_t) t);
            const float * want = &ref[(size_t) t * n_vocab];
            size_t a = 0, b = 0;
            for (uint32_t v = 0; v < n_vocab; v++) {
                max_diff = std::fmax(max_diff, std::fabs(got[v] - want[v]));
                max_ref = std::fmax(max_ref, std::fabs(want[v]));
                if (got[v] > got[a]) a = v;
                if (want[v] > want[b]) b = v;
            }
            argmax_differ += a != b;
            positions++;
        }
        llama_batch_free(batch);
    }
    std::printf("reference: %zu positions, max |logit diff| %.2e (max |logit| %.1f), argmax differs at %zu\n",
                positions, max_diff, max_ref, argmax_differ);
    check(f.good() && positions > 0 && max_diff < 1e-4 * std::fmax(1.0, max_ref) && argmax_differ == 0,
          "llama.cpp logits match the torch reference");
}

static std::string escape(const std::string & s) {
    std::string o;
    for (char c : s) {
        if (c == '\n') o += "\\n";
        else if (c == '\t') o += "\\t";
        else if (c == '\\') o += "\\\\";
        else o += c;
    }
    return o;
}

static std::string generate(llama_context * ctx, const llama_model * model, const std::string & system,
                            const std::string & user, llama_sampler * smpl) {
    const llama_vocab * vocab = llama_model_get_vocab(model);
    llama_chat_message chat[] = {{"system", system.c_str()}, {"user", user.c_str()}};
    std::vector<char> buf(4096);
    int n = llama_chat_apply_template(llama_model_chat_template(model, nullptr), chat, 2, true, buf.data(),
                                      (int32_t) buf.size());
    std::vector<llama_token> prompt = tokenize(vocab, std::string(buf.data(), n > 0 ? n : 0));
    llama_memory_clear(llama_get_memory(ctx), true);
    llama_sampler_reset(smpl);
    std::vector<llama_token> answer;
    llama_batch batch = llama_batch_get_one(prompt.data(), (int32_t) prompt.size());
    const int max_new = 160;
    for (int i = 0; i < max_new; i++) {
        if (llama_decode(ctx, batch) != 0) break;
        llama_token t = llama_sampler_sample(smpl, ctx, -1);
        if (llama_vocab_is_eog(vocab, t)) break;
        answer.push_back(t);
        batch = llama_batch_get_one(&answer.back(), 1);
    }
    return detokenize(vocab, answer);
}

static void run_prompts(llama_context * ctx, const llama_model * model, const std::string & in, const std::string & out,
                        int samples, float temp) {
    std::ifstream f(in);
    std::ofstream o(out);
    std::string line;
    size_t count = 0;
    for (uint32_t line_no = 0; std::getline(f, line); line_no++) {
        std::stringstream ss(line);
        std::string id, system, user;
        std::getline(ss, id, '\t');
        std::getline(ss, system, '\t');
        std::getline(ss, user, '\t');
        for (int s = samples == 0 ? 0 : 1; s <= samples; s++) {
            // One seed per prompt and sample: a seed shared by all prompts would draw the same
            // random numbers for every question and correlate their answers.
            const uint32_t seed = samples == 0 ? 0 : line_no * 1000u + (uint32_t) s;
            llama_sampler * smpl = llama_sampler_chain_init(llama_sampler_chain_default_params());
            if (samples == 0) {
                llama_sampler_chain_add(smpl, llama_sampler_init_greedy());
            } else {
                llama_sampler_chain_add(smpl, llama_sampler_init_temp(temp));
                llama_sampler_chain_add(smpl, llama_sampler_init_dist(seed));
            }
            o << id << '\t' << seed << '\t' << escape(generate(ctx, model, system, user, smpl)) << '\n';
            llama_sampler_free(smpl);
            count++;
        }
    }
    check(count > 0 && o.good(), "generated " + std::to_string(count) + " answers into " + out);
}

int main(int argc, char ** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s MODEL [--roundtrip F] [--reference F] [--prompts F --out F [--samples N --temp T]] [--threads N]\n",
                     argv[0]);
        return 2;
    }
    std::string roundtrip, reference, prompts, out;
    int samples = 0, threads = 2;
    float temp = 1.0f;
    for (int i = 2; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--roundtrip") roundtrip = v;
        else if (k == "--reference") reference = v;
        else if (k == "--prompts") prompts = v;
        else if (k == "--out") out = v;
        else if (k == "--samples") samples = std::stoi(v);
        else if (k == "--temp") temp = std::stof(v);
        else if (k == "--threads") threads = std::stoi(v);
        else { std::fprintf(stderr, "unknown option %s\n", k.c_str()); return 2; }
    }
    llama_log_set(quiet_log, nullptr);
    llama_backend_init();
    llama_model * model = llama_model_load_from_file(argv[1], llama_model_default_params());
    check(model != nullptr, std::string("llama.cpp loads ") + argv[1]);
    if (!model) return 1;
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 512;
    cp.n_batch = 512;
    cp.n_threads = cp.n_threads_batch = threads;
    // F32 cache so the comparison with torch tests layout and weights, not F16 rounding of K and V.
    cp.type_k = GGML_TYPE_F32;
    cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    llama_context * ctx = llama_init_from_model(model, cp);
    check(ctx != nullptr, "context created");
    if (!ctx) return 1;

    check_basics(model);
    check_template(model);
    if (!roundtrip.empty()) check_roundtrip(llama_model_get_vocab(model), roundtrip);
    if (!reference.empty()) check_reference(ctx, reference);
    if (!prompts.empty() && !out.empty()) run_prompts(ctx, model, prompts, out, samples, temp);

    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    std::printf("%s\n", g_failures == 0 ? "ALL CHECKS PASSED" : "SOME CHECKS FAILED");
    return g_failures == 0 ? 0 : 1;
}
