// Harness for the native steering tests: TAP-style checks, model/context setup, decoding helpers
// and the eval-callback oracle (llama.cpp's own cb_eval, which reads and rewrites l_out-<il> on the
// host: independent of the steering patch's graph ops and async copies).
#pragma once

#include "llama.h"
#include "llama-steer.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace steer_test {

inline int g_failures = 0;
inline int g_checks   = 0;

inline bool check(bool ok, const std::string & what) {
    g_checks++;
    if (!ok) {
        g_failures++;
    }
    printf("%s %d - %s\n", ok ? "ok" : "not ok", g_checks, what.c_str());
    fflush(stdout);
    return ok;
}

#ifdef __GNUC__
inline std::string fmt(const char * f, ...) __attribute__((format(printf, 1, 2)));
#endif
inline std::string fmt(const char * f, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof(buf), f, ap);
    va_end(ap);
    return buf;
}

inline double max_abs_diff(const float * a, const float * b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; ++i) {
        m = std::max(m, (double) std::fabs((double) a[i] - (double) b[i]));
    }
    return m;
}

inline double max_abs_diff(const std::vector<float> & a, const std::vector<float> & b) {
    if (a.size() != b.size()) {
        return INFINITY;
    }
    return max_abs_diff(a.data(), b.data(), a.size());
}

inline bool bit_identical(const std::vector<float> & a, const std::vector<float> & b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()*sizeof(float)) == 0;
}

inline double dot(const float * a, const float * b, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) {
        s += (double) a[i]*b[i];
    }
    return s;
}

// The eval callback sees every tensor named l_out-<il> (the block outputs). It can record them
// and rewrite one block's rows in place; downstream nodes run after it returns, so a rewrite
// behaves like an in-graph edit (hooks.md section 3).
struct cb_oracle {
    bool record = false;
    std::map<int, std::vector<float>> rows;  // il -> rows of every ubatch of the last decodes
    int write_il = -1;
    std::function<void(float * rows, int64_t n_rows, int64_t n_embd)> write;

    void clear() { rows.clear(); }

    static bool eval(ggml_tensor * t, bool ask, void * ud) {
        auto * self = (cb_oracle *) ud;
        if (std::strncmp(t->name, "l_out-", 6) != 0) {
            return !ask;
        }
        const int il = std::atoi(t->name + 6);
        if (ask) {
            return self->record || il == self->write_il;
        }
        std::vector<float> buf(ggml_nelements(t));
        ggml_backend_tensor_get(t, buf.data(), 0, ggml_nbytes(t));
        if (il == self->write_il && self->write) {
            self->write(buf.data(), t->ne[1], t->ne[0]);
            ggml_backend_tensor_set(t, buf.data(), 0, ggml_nbytes(t));
        }
        if (self->record) {
            auto & dst = self->rows[il];
            dst.insert(dst.end(), buf.begin(), buf.end());
        }
        return true;
    }
};

struct env {
    llama_model * model = nullptr;
    int n_embd  = 0;
    int n_layer = 0;
    int n_vocab = 0;

    // n_seq = 2, non-unified KV: multi-sequence batches are split by sequence; the addon's own
    // contexts (several sequences, unified KV, batches kept in order) use n_seq > 2, unified = true
    llama_context * new_ctx(cb_oracle * oracle = nullptr, int n_seq = 2, bool unified = false) const {
        llama_context_params cp = llama_context_default_params();
        cp.n_ctx           = 512;
        cp.n_batch         = 128;
        cp.n_ubatch        = 128;
        cp.n_seq_max       = n_seq;
        cp.kv_unified      = unified;
        cp.n_threads       = 2;
        cp.n_threads_batch = 2;
        cp.no_perf         = false; // n_reused is read by the graph-reuse checks
        if (oracle) {
            cp.cb_eval           = cb_oracle::eval;
            cp.cb_eval_user_data = oracle;
        }
        return llama_init_from_model(model, cp);
    }

    std::vector<llama_token> tokenize(const std::string & text, bool bos) const {
        const llama_vocab * vocab = llama_model_get_vocab(model);
        std::vector<llama_token> toks(text.size() + 8);
        const int n = llama_tokenize(vocab, text.c_str(), (int32_t) text.size(), toks.data(), (int32_t) toks.size(), bos, false);
        toks.resize(std::max(n, 0));
        return toks;
    }
};

// a steering configuration whose block arrays it owns
struct config {
    int n_slots = 1, n_dirs = 0, n_monitor = 0;
    std::vector<int32_t> steer, capture, reduce, monitor;

    llama_steer_config get() const {
        llama_steer_config c = {};
        c.n_slots        = steer.empty() ? 0 : n_slots;
        c.n_dirs         = n_dirs;
        c.steer_blocks   = steer.data();   c.n_steer_blocks   = (int32_t) steer.size();
        c.capture_blocks = capture.data(); c.n_capture_blocks = (int32_t) capture.size();
        c.reduce_blocks  = reduce.data();  c.n_reduce_blocks  = (int32_t) reduce.size();
        c.n_monitor      = n_monitor;
        c.monitor_blocks = monitor.data(); c.n_monitor_blocks = (int32_t) monitor.size();
        return c;
    }
};

int32_t configure(llama_context * ctx, const config & c) {
    const llama_steer_config cfg = c.get();
    return llama_steer_configure(ctx, &cfg);
}

struct seq_tokens {
    llama_seq_id             seq;
    llama_pos                pos0;
    std::vector<llama_token> toks;
    bool                     all_logits = false; // otherwise only the last token
};

// one llama_decode of several sequences' tokens, interleaved token by token
inline bool decode(llama_context * ctx, const std::vector<seq_tokens> & parts) {
    size_t n = 0, longest = 0;
    for (const auto & p : parts) {
        n += p.toks.size();
        longest = std::max(longest, p.toks.size());
    }
    llama_batch b = llama_batch_init((int32_t) n, 0, 1);
    for (size_t i = 0; i < longest; ++i) {
        for (const auto & p : parts) {
            if (i >= p.toks.size()) {
                continue;
            }
            const int k = b.n_tokens++;
            b.token[k]     = p.toks[i];
            b.pos[k]       = p.pos0 + (llama_pos) i;
            b.n_seq_id[k]  = 1;
            b.seq_id[k][0] = p.seq;
            b.logits[k]    = p.all_logits || i + 1 == p.toks.size();
        }
    }
    const int rc = llama_decode(ctx, b);
    llama_batch_free(b);
    return rc == 0;
}

// prompt, then one token at a time (a fixed continuation, so that runs stay aligned); returns the
// logits of the last prompt token and of every continuation token. before(i) runs before decode i
// (i = 0 is the prompt).
inline std::vector<float> run_story(const env & e, llama_context * ctx, const std::vector<llama_token> & prompt,
                                    const std::vector<llama_token> & cont, const std::function<void(int)> & before = nullptr) {
    llama_memory_clear(llama_get_memory(ctx), true);
    std::vector<float> out;
    for (size_t i = 0; i <= cont.size(); ++i) {
        if (before) {
            before((int) i);
        }
        const bool ok = i == 0 ? decode(ctx, { { 0, 0, prompt } })
                               : decode(ctx, { { 0, (llama_pos) (prompt.size() + i - 1), { cont[i - 1] } } });
        if (!ok) {
            fprintf(stderr, "decode failed\n");
            return {};
        }
        const float * lg = llama_get_logits_ith(ctx, -1);
        out.insert(out.end(), lg, lg + e.n_vocab);
    }
    return out;
}

} // namespace steer_test
