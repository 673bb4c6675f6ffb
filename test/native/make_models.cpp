// Writes the architecture matrix (arch_models.hpp) as GGUF files plus a models.json manifest:
//
//   persona_steer_make_models OUT_DIR [VOCAB.gguf]      (vocabulary default: ../shared/models/stories260K.gguf)
//
// For each spec: llama.cpp builds the model from the spec's metadata with random weights
// (llama_model_init_from_user), the tensors it created are written with the spec's own metadata,
// quantized variants go through llama_model_quantize (the path of llama.cpp's quantize tool), and
// the written file is reloaded and must give the in-memory model's logits (bit for bit in F32).
// Skips the work when OUT_DIR/models.json already comes from the same specs. Exit 0 on success.
#include "arch_models.hpp"

#include "ggml-backend.h"
#include "ggml.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace arch_models;

namespace {

// Bump when the generator's output changes for the same specs.
constexpr int GENERATOR_VERSION = 1;

uint64_t fnv1a(const std::string & s, uint64_t h = 1469598103934665603ull) {
    for (unsigned char c : s) {
        h = (h ^ c) * 1099511628211ull;
    }
    return h;
}

// splitmix64 + Box-Muller: the same numbers on every platform (std::normal_distribution is not)
struct rng {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    double uniform() { return ((next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
    double normal() { return std::sqrt(-2.0*std::log(uniform())) * std::cos(6.283185307179586*uniform()); }
};

bool contains(const char * s, const char * part) { return std::strstr(s, part) != nullptr; }

// what llama.cpp created, in creation order: the file is written from these
struct recorded {
    std::string          name;
    std::vector<int64_t> ne;
    std::vector<float>   data;
};

// Weights of magnitude 1/sqrt(fan-in) keep activations O(1) through the blocks; norms near 1;
// rope frequency factors near 1; Mamba's A negative (a decaying state); biases small.
void fill_tensor(ggml_tensor * t, void * ud) {
    GGML_ASSERT(t->type == GGML_TYPE_F32);
    rng r{fnv1a(t->name)};
    const int64_t n = ggml_nelements(t);
    std::vector<float> x(n);
    const bool matrix = ggml_n_dims(t) >= 2;
    for (int64_t i = 0; i < n; ++i) {
        const double g = r.normal();
        double v;
        if (contains(t->name, "ssm_a")) {
            v = -(0.5 + r.uniform());
        } else if ((contains(t->name, "norm") || contains(t->name, "rope_f")) && !matrix) {
            v = 1.0 + 0.1*g;
        } else if (contains(t->name, ".bias") || !matrix) {
            v = 0.05*g;
        } else {
            v = g / std::sqrt((double) t->ne[0]);
        }
        x[i] = (float) v;
    }
    ggml_backend_tensor_set(t, x.data(), 0, ggml_nbytes(t));
    auto * out = (std::vector<recorded> *) ud;
    for (const auto & r : *out) {
        if (r.name == t->name) {
            return; // a tensor shared by several blocks (TENSOR_DUPLICATED) is stored once
        }
    }
    out->push_back({t->name, std::vector<int64_t>(t->ne, t->ne + ggml_n_dims(t)), std::move(x)});
}

bool quiet_progress(float, void *) { return true; }

gguf_context * vocab_metadata(const std::string & vocab_path) {
    gguf_init_params p = { /*no_alloc =*/ true, /*ctx =*/ nullptr };
    gguf_context * src = gguf_init_from_file(vocab_path.c_str(), p);
    if (src == nullptr) {
        return nullptr;
    }
    gguf_context * dst = gguf_init_empty();
    gguf_set_kv(dst, src);
    gguf_free(src);
    // keep the tokenizer only
    for (int64_t i = gguf_get_n_kv(dst) - 1; i >= 0; --i) {
        const std::string k = gguf_get_key(dst, i);
        if (k.rfind("tokenizer.", 0) != 0) {
            gguf_remove_key(dst, k.c_str());
        }
    }
    return dst;
}

gguf_context * spec_metadata(const model_spec & s, const gguf_context * vocab) {
    gguf_context * g = gguf_init_empty();
    gguf_set_kv(g, vocab);
    gguf_set_val_str(g, "general.architecture", s.arch.c_str());
    // not the architecture's name: llama.cpp's vocabulary loader special-cases names such as "phi3"
    gguf_set_val_str(g, "general.name", "persona-steer random weights");
    const kv_writer kv{g, s.arch};
    kv.u32("context_length", 512);
    kv.u32("embedding_length", s.n_embd);
    kv.u32("block_count", s.n_layer);
    kv.u32("feed_forward_length", s.n_ff);
    kv.u32("attention.head_count", s.n_head);
    kv.u32("attention.head_count_kv", s.n_head_kv);
    kv.f32("attention.layer_norm_rms_epsilon", 1e-5f);
    kv.f32("attention.layer_norm_epsilon", 1e-5f);
    kv.f32("rope.freq_base", 10000.0f);
    if (s.extra) {
        s.extra(kv, s);
    }
    return g;
}

std::vector<float> last_logits(llama_model * m, int n_tokens) {
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 64;
    cp.n_batch = 64;
    cp.n_ubatch = 64;
    cp.n_threads = 2;
    cp.n_threads_batch = 2;
    llama_context * ctx = llama_init_from_model(m, cp);
    if (ctx == nullptr) {
        return {};
    }
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(m));
    std::vector<llama_token> toks(n_tokens);
    for (int i = 0; i < n_tokens; ++i) {
        toks[i] = (llama_token) ((i*37 + 11) % n_vocab);
    }
    std::vector<float> out;
    if (llama_decode(ctx, llama_batch_get_one(toks.data(), n_tokens)) == 0) {
        const float * lg = llama_get_logits_ith(ctx, -1);
        out.assign(lg, lg + n_vocab);
    }
    llama_free(ctx);
    return out;
}

// the tensors llama.cpp created, under the spec's metadata; with f64, blk.0.ffn_up.weight is
// stored as F64
bool write_gguf(const std::vector<recorded> & tensors, const gguf_context * meta, const std::string & path, bool f64) {
    size_t bytes = 0;
    for (const auto & r : tensors) {
        bytes += r.data.size()*sizeof(double) + ggml_tensor_overhead();
    }
    ggml_init_params ip = { bytes, nullptr, false };
    ggml_context * data = ggml_init(ip);
    gguf_context * out = gguf_init_empty();
    gguf_set_kv(out, meta);
    for (const auto & r : tensors) {
        const bool as_f64 = f64 && r.name == "blk.0.ffn_up.weight";
        ggml_tensor * t = ggml_new_tensor(data, as_f64 ? GGML_TYPE_F64 : GGML_TYPE_F32, (int) r.ne.size(), r.ne.data());
        ggml_set_name(t, r.name.c_str());
        for (size_t k = 0; k < r.data.size(); ++k) {
            if (as_f64) {
                ((double *) t->data)[k] = r.data[k];
            } else {
                ((float *) t->data)[k] = r.data[k];
            }
        }
        gguf_add_tensor(out, t);
    }
    const bool ok = gguf_write_to_file(out, path.c_str(), false);
    gguf_free(out);
    ggml_free(data);
    return ok;
}

std::string json_str(const std::string & s) {
    std::string o = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            o += '\\';
        }
        o += c;
    }
    return o + "\"";
}

std::string manifest_entry(const model_spec & s, const std::string & file) {
    std::ostringstream o;
    o << "    {\"name\": " << json_str(s.name) << ", \"file\": " << json_str(file) << ", \"arch\": " << json_str(s.arch)
      << ", \"kind\": " << json_str(s.kind) << ", \"weights\": " << json_str(ftype_name(s.ftype))
      << ", \"blocks\": " << s.n_layer << ", \"embd\": " << s.n_embd
      << ", \"expect\": " << json_str(s.f64 ? "load-error" : s.hooked ? "hooked" : "refused") << "}";
    return o.str();
}

uint64_t specs_hash(const std::vector<model_spec> & all) {
    uint64_t h = fnv1a(std::to_string(GENERATOR_VERSION));
    for (const auto & s : all) {
        h = fnv1a(manifest_entry(s, s.name), h);
    }
    return h;
}

// returns the error, empty on success
std::string make_one(const model_spec & s, const gguf_context * vocab, const fs::path & dir) {
    gguf_context * meta = spec_metadata(s, vocab);
    llama_model_params mp = llama_model_default_params();
    mp.progress_callback = quiet_progress;
    std::vector<recorded> tensors;
    llama_model * model = llama_model_init_from_user(meta, fill_tensor, &tensors, mp);
    if (model == nullptr) {
        gguf_free(meta);
        return "llama.cpp could not build the model from its metadata";
    }
    const fs::path f32_path = dir / (s.name + (s.ftype == LLAMA_FTYPE_ALL_F32 ? ".gguf" : ".f32.tmp.gguf"));
    const bool written = write_gguf(tensors, meta, f32_path.string(), s.f64);
    tensors.clear();
    gguf_free(meta);
    if (!written) {
        llama_model_free(model);
        return "could not write " + f32_path.string();
    }
    if (s.f64) {
        llama_model_free(model);
        return "";
    }

    fs::path final_path = f32_path;
    if (s.ftype != LLAMA_FTYPE_ALL_F32) {
        final_path = dir / (s.name + ".gguf");
        llama_model_quantize_params qp = llama_model_quantize_default_params();
        qp.ftype = s.ftype;
        qp.nthread = 2;
        const uint32_t rc = llama_model_quantize(f32_path.string().c_str(), final_path.string().c_str(), &qp);
        fs::remove(f32_path);
        if (rc != 0) {
            llama_model_free(model);
            return "llama_model_quantize failed";
        }
    }

    // the file must be the model: same logits after a reload (F32: bit for bit)
    if (s.hooked) {
        llama_model * reloaded = llama_model_load_from_file(final_path.string().c_str(), mp);
        if (reloaded == nullptr) {
            llama_model_free(model);
            return "the written file does not load";
        }
        const std::vector<float> a = last_logits(model, 9), b = last_logits(reloaded, 9);
        llama_model_free(reloaded);
        if (a.empty() || b.empty()) {
            llama_model_free(model);
            return "decode failed";
        }
        if (s.ftype == LLAMA_FTYPE_ALL_F32 && std::memcmp(a.data(), b.data(), a.size()*sizeof(float)) != 0) {
            llama_model_free(model);
            return "the reloaded file gives other logits than the model it was written from";
        }
    }
    llama_model_free(model);
    return "";
}

} // namespace

int main(int argc, char ** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUT_DIR [VOCAB.gguf]\n", argv[0]);
        return 2;
    }
    const fs::path dir = argv[1];
    const std::string vocab_path = argc > 2 ? argv[2] : "../shared/models/stories260K.gguf";
    const bool verbose = std::getenv("PERSONA_STEER_LOG") != nullptr;
    if (!verbose) {
        llama_log_set([](ggml_log_level, const char *, void *) {}, nullptr);
    }

    std::vector<model_spec> all = specs();
    all.push_back(f64_spec());
    const std::string stamp = std::to_string(specs_hash(all));

    const fs::path manifest = dir / "models.json";
    {
        std::ifstream in(manifest);
        std::stringstream ss;
        ss << in.rdbuf();
        if (ss.str().find("\"stamp\": \"" + stamp + "\"") != std::string::npos) {
            printf("%s: up to date (%zu models)\n", manifest.string().c_str(), all.size());
            return 0;
        }
    }

    gguf_context * vocab = vocab_metadata(vocab_path);
    if (vocab == nullptr) {
        fprintf(stderr, "cannot read the vocabulary from %s\n", vocab_path.c_str());
        return 2;
    }
    fs::create_directories(dir);
    llama_backend_init();

    std::vector<std::string> entries;
    int failures = 0;
    for (const auto & s : all) {
        if (verbose) {
            fprintf(stderr, "# %s\n", s.name.c_str());
        }
        const std::string err = make_one(s, vocab, dir);
        if (!err.empty()) {
            fprintf(stderr, "%s (%s): %s\n", s.name.c_str(), s.arch.c_str(), err.c_str());
            failures++;
            continue;
        }
        entries.push_back(manifest_entry(s, s.name + ".gguf"));
    }
    gguf_free(vocab);
    llama_backend_free();
    if (failures > 0) {
        fs::remove(manifest);
        return 1;
    }

    std::ofstream out(manifest);
    out << "{\n  \"stamp\": \"" << stamp << "\",\n  \"models\": [\n";
    for (size_t i = 0; i < entries.size(); ++i) {
        out << entries[i] << (i + 1 < entries.size() ? ",\n" : "\n");
    }
    out << "  ]\n}\n";
    printf("%s: %zu models written\n", manifest.string().c_str(), entries.size());
    return 0;
}
