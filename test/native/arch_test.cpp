// The architecture matrix (arch_models.hpp) against llama.cpp's own view of each block output:
// the tensor it names l_out-<il>, read through its eval callback (independent of the hook's graph
// ops, outputs and asynchronous copies). Per model that must be hooked:
//   - every block is reported hooked (llama_steer_hooked_blocks)
//   - capture of every block: one row per token, labelled, bit-identical to l_out-<il>
//   - a zero plan on every block: logits and l_out bit-identical to no steering
//   - add(v, s, [k]) for every block k: l_out-k becomes fl(h + fl(s v)) exactly, blocks before k
//     do not change at all, and the logits move
//   - clamp at every block k (cap tau on v^): every row ends at or below tau, rows above end at tau,
//     rows below are untouched
//   - monitor of every block equals h.v^ (double-precision dot product of l_out rows)
//   - reduce of every block equals the sum of l_out rows over the range
// A model that must be refused: no block hooked, and configure returns LLAMA_STEER_ERR_UNSUPPORTED
// for steering, capture, reduce and monitor alike.
//
//   persona_steer_arch_test MODELS_DIR [--table FILE]     (MODELS_DIR from persona_steer_make_models)
//
// --table writes the support table of docs/hooks.md (markdown) from this run. Exit 1 on any failure.
#include "arch_models.hpp"
#include "steer_test_util.hpp"

#include "ggml-backend.h"

#include <filesystem>
#include <fstream>
#include <random>

using namespace steer_test;
using arch_models::model_spec;
namespace fs = std::filesystem;

namespace {

// l_out-<il> as llama.cpp computed it in the last decode. A stacked block output
// [n_embd, n_tokens, n] (gemma3n's altup streams) is kept whole; its residual stream is slice 0,
// llama.cpp's i_altup_act for gemma3n.
struct l_out_oracle {
    struct out {
        std::vector<float> data;
        int64_t ne0 = 0, ne1 = 0, ne2 = 0;
    };
    std::map<int, out> by_block;

    static bool eval(ggml_tensor * t, bool ask, void * ud) {
        if (std::strncmp(t->name, "l_out-", 6) != 0) {
            return !ask;
        }
        if (ask) {
            return true;
        }
        auto * self = (l_out_oracle *) ud;
        out o;
        o.ne0 = t->ne[0];
        o.ne1 = t->ne[1];
        o.ne2 = t->ne[2]*t->ne[3];
        o.data.resize(ggml_nelements(t));
        if (ggml_is_contiguous(t)) {
            ggml_backend_tensor_get(t, o.data.data(), 0, ggml_nbytes(t));
        } else {
            o.data.clear(); // never expected: reported as a missing block output
        }
        self->by_block[std::atoi(t->name + 6)] = std::move(o);
        return true;
    }

    // the residual stream rows of block il: [n_rows][n_embd]
    std::vector<float> rows(int il) const {
        auto it = by_block.find(il);
        if (it == by_block.end()) {
            return {};
        }
        const out & o = it->second;
        return std::vector<float>(o.data.begin(), o.data.begin() + std::min<size_t>(o.data.size(), (size_t) (o.ne0*o.ne1)));
    }
    // the other stacked slices (empty for a plain [n_embd, n_tokens] output)
    std::vector<float> rest(int il) const {
        auto it = by_block.find(il);
        if (it == by_block.end() || it->second.data.size() <= (size_t) (it->second.ne0*it->second.ne1)) {
            return {};
        }
        const out & o = it->second;
        return std::vector<float>(o.data.begin() + o.ne0*o.ne1, o.data.end());
    }
};

struct run_result {
    bool ok = false;
    std::vector<float> logits;                 // [n_tokens][n_vocab]
    std::map<int, std::vector<float>> rows;    // l_out rows per block
    std::map<int, std::vector<float>> rest;    // other stacked slices per block
};

struct model_env {
    const model_spec * spec = nullptr;
    llama_model * model = nullptr;
    llama_context * ctx = nullptr;
    l_out_oracle oracle;
    int n_embd = 0, n_layer = 0, n_vocab = 0;
    std::vector<llama_token> prompt;

    run_result run() {
        run_result r;
        oracle.by_block.clear();
        llama_memory_clear(llama_get_memory(ctx), true);
        const int n = (int) prompt.size();
        llama_batch b = llama_batch_init(n, 0, 1);
        for (int i = 0; i < n; ++i) {
            b.token[i] = prompt[i];
            b.pos[i] = i;
            b.n_seq_id[i] = 1;
            b.seq_id[i][0] = 0;
            b.logits[i] = 1;
        }
        b.n_tokens = n;
        r.ok = llama_decode(ctx, b) == 0;
        llama_batch_free(b);
        if (!r.ok) {
            return r;
        }
        llama_synchronize(ctx);
        for (int i = 0; i < n; ++i) {
            const float * lg = llama_get_logits_ith(ctx, i);
            r.logits.insert(r.logits.end(), lg, lg + n_vocab);
        }
        for (int il = 0; il < n_layer; ++il) {
            r.rows[il] = oracle.rows(il);
            r.rest[il] = oracle.rest(il);
        }
        return r;
    }
};

std::vector<float> unit_vector(int n, uint32_t seed) {
    std::mt19937 gen(seed);
    std::normal_distribution<double> d(0.0, 1.0);
    std::vector<double> x(n);
    double s = 0;
    for (double & v : x) {
        v = d(gen);
        s += v*v;
    }
    std::vector<float> out(n);
    for (int i = 0; i < n; ++i) {
        out[i] = (float) (x[i]/std::sqrt(s));
    }
    return out;
}

double rms(const std::vector<float> & v) {
    double s = 0;
    for (float x : v) {
        s += (double) x*x;
    }
    return v.empty() ? 0.0 : std::sqrt(s/v.size());
}

double norm_of(const float * x, int n) {
    return std::sqrt(dot(x, x, n));
}

// ---------------------------------------------------------------------------------------------

struct model_report {
    std::string result;
    int checks = 0, failures = 0;
};

#define CHECK(cond, ...) do { rep.checks++; if (!check((cond), e.spec->name + ": " + fmt(__VA_ARGS__))) rep.failures++; } while (0)

void test_refused(model_env & e, model_report & rep) {
    std::vector<uint8_t> hooked(e.n_layer, 1);
    const int32_t n_hooked = llama_steer_hooked_blocks(e.ctx, hooked.data(), e.n_layer);
    CHECK(n_hooked == 0 && std::all_of(hooked.begin(), hooked.end(), [](uint8_t h) { return h == 0; }),
          "no block is hooked (llama_steer_hooked_blocks: %d of %d)", n_hooked, e.n_layer);
    const std::vector<int32_t> first = { 0 }, last = { e.n_layer - 1 };
    bool all_refused = true;
    for (const auto & blocks : { first, last }) {
        config s; s.n_dirs = 1; s.steer = blocks;
        config c; c.capture = blocks;
        config r; r.reduce = blocks;
        config m; m.n_monitor = 1; m.monitor = blocks;
        for (const config * b : { &s, &c, &r, &m }) {
            all_refused &= configure(e.ctx, *b) == LLAMA_STEER_ERR_UNSUPPORTED;
        }
    }
    CHECK(all_refused, "configure refuses steering, capture, reduce and monitor of the first and last block (LLAMA_STEER_ERR_UNSUPPORTED)");
    rep.result = "refused";
}

void test_hooked(model_env & e, model_report & rep) {
    const int E = e.n_embd, L = e.n_layer, N = (int) e.prompt.size();

    std::vector<uint8_t> hooked(L, 0);
    const int32_t n_hooked = llama_steer_hooked_blocks(e.ctx, hooked.data(), L);
    CHECK(n_hooked == L, "every block is hooked (llama_steer_hooked_blocks: %d of %d)", n_hooked, L);

    const run_result base = e.run();
    bool have_rows = base.ok;
    for (int il = 0; il < L; ++il) {
        have_rows &= base.rows.at(il).size() == (size_t) N*E;
    }
    CHECK(have_rows, "decode works and llama.cpp's l_out-<il> holds %d rows of %d for each of the %d blocks", N, E, L);
    if (!have_rows) {
        rep.result = "no l_out reference";
        return;
    }

    // capture
    {
        config c;
        for (int il = 0; il < L; ++il) c.capture.push_back(il);
        bool ok = configure(e.ctx, c) == LLAMA_STEER_OK;
        const run_result r = e.run();
        bool rows_ok = ok && r.ok, labels_ok = true, same = true;
        for (int il = 0; il < L && rows_ok; ++il) {
            const float * rows; const llama_pos * pos; const llama_seq_id * seq;
            const int32_t n = llama_steer_get_capture(e.ctx, il, &rows, &pos, &seq);
            rows_ok &= n == N;
            if (n != N) break;
            for (int t = 0; t < N; ++t) labels_ok &= pos[t] == t && seq[t] == 0;
            same &= std::memcmp(rows, base.rows.at(il).data(), (size_t) N*E*sizeof(float)) == 0 &&
                    bit_identical(r.rows.at(il), base.rows.at(il));
        }
        CHECK(rows_ok, "capture of every block returns %d rows per block", N);
        CHECK(labels_ok && same, "captured rows are labelled (seq 0, pos 0..%d) and bit-identical to l_out-<il>", N - 1);
        CHECK(bit_identical(r.logits, base.logits), "capture leaves the logits bit-identical");
    }

    // zero plan
    {
        config c;
        c.n_dirs = 2;
        for (int il = 0; il < L; ++il) c.steer.push_back(il);
        const bool ok = configure(e.ctx, c) == LLAMA_STEER_OK && llama_steer_commit(e.ctx) == LLAMA_STEER_OK;
        const run_result r = e.run();
        bool rows_same = r.ok;
        for (int il = 0; il < L && rows_same; ++il) rows_same &= bit_identical(r.rows.at(il), base.rows.at(il));
        CHECK(ok && r.ok && bit_identical(r.logits, base.logits) && rows_same,
              "a zero plan on every block leaves logits and every l_out bit-identical");
    }

    const std::vector<float> v = unit_vector(E, 1234);

    // add(v, s, [k]): slot 1's addition c = fl(s v), s twice the block's rms norm
    {
        bool configured = true, exact = true, earlier = true, others = true, moved = true;
        int worst_k = -1;
        double min_move = INFINITY;
        for (int k = 0; k < L; ++k) {
            const float s = (float) (2.0*rms(base.rows.at(k))*std::sqrt((double) E));
            std::vector<float> U(E);
            for (int i = 0; i < E; ++i) U[i] = s*v[i];
            config c; c.steer = { k };
            configured &= configure(e.ctx, c) == LLAMA_STEER_OK && llama_steer_set_slot(e.ctx, k, 1, U.data(), nullptr, nullptr) == LLAMA_STEER_OK &&
                          llama_steer_commit(e.ctx) == LLAMA_STEER_OK;
            const run_result r = e.run();
            if (!r.ok) { configured = false; continue; }
            for (int j = 0; j < k; ++j) earlier &= bit_identical(r.rows.at(j), base.rows.at(j));
            const std::vector<float> & h = base.rows.at(k), & got = r.rows.at(k);
            bool k_ok = got.size() == h.size();
            for (size_t x = 0; x < h.size() && k_ok; ++x) {
                const float want = h[x] + U[x % E];   // float addition: fl(h + fl(s v))
                k_ok &= std::memcmp(&want, &got[x], sizeof(float)) == 0;
            }
            if (!k_ok && worst_k < 0) worst_k = k;
            exact &= k_ok;
            others &= bit_identical(r.rest.at(k), base.rest.at(k)); // gemma3n: the other altup streams
            const double d = max_abs_diff(r.logits, base.logits);
            min_move = std::min(min_move, d);
            moved &= d > 1e-4;
        }
        CHECK(configured, "add: configure, set and commit one block at a time (each of %d blocks)", L);
        CHECK(exact, "add(v, s, [k]) at every block k: l_out-k == fl(h + fl(s v)) bit for bit%s", worst_k < 0 ? "" : fmt(" (first wrong block %d)", worst_k).c_str());
        CHECK(earlier, "add at block k leaves every block before k bit-identical");
        CHECK(others, "add changes only the residual stream slice of a stacked block output");
        CHECK(moved, "add at any block moves the logits (smallest max change %.3g)", min_move);
    }

    // clamp: h <- h - relu(h.v^ - tau) v^ with tau the median projection of the block's rows
    {
        bool configured = true, bound = true, tight = true, untouched = true;
        double worst = 0;
        int n_above = 0, n_below = 0;
        for (int k = 0; k < L; ++k) {
            const std::vector<float> & h = base.rows.at(k);
            std::vector<double> p(N);
            for (int t = 0; t < N; ++t) p[t] = dot(&h[(size_t) t*E], v.data(), E);
            std::vector<double> sorted = p;
            std::sort(sorted.begin(), sorted.end());
            const double tau = sorted[N/2];
            const float hi = (float) tau;
            config c; c.n_dirs = 1; c.steer = { k };
            configured &= configure(e.ctx, c) == LLAMA_STEER_OK && llama_steer_set_dirs(e.ctx, k, v.data()) == LLAMA_STEER_OK &&
                          llama_steer_set_slot(e.ctx, k, 1, nullptr, nullptr, &hi) == LLAMA_STEER_OK && llama_steer_commit(e.ctx) == LLAMA_STEER_OK;
            const run_result r = e.run();
            if (!r.ok) { configured = false; continue; }
            const std::vector<float> & got = r.rows.at(k);
            for (int t = 0; t < N; ++t) {
                const double scale = 1.0 + norm_of(&h[(size_t) t*E], E);
                const double q = dot(&got[(size_t) t*E], v.data(), E);
                worst = std::max(worst, (q - tau)/scale);
                bound &= q <= (double) (float) tau + 1e-5*scale;
                if (p[t] > tau + 1e-4*scale) {
                    n_above++;
                    tight &= std::fabs(q - tau) <= 1e-5*scale;
                } else if (p[t] < tau - 1e-4*scale) {
                    n_below++;
                    untouched &= std::memcmp(&got[(size_t) t*E], &h[(size_t) t*E], E*sizeof(float)) == 0;
                }
            }
        }
        CHECK(configured, "clamp: configure, set and commit one block at a time");
        CHECK(bound, "clamp at every block: every row's projection on v^ ends <= tau (worst excess %.2g relative)", worst);
        CHECK(tight && n_above > 0, "clamp: the %d rows above tau end at tau (within 1e-5 relative)", n_above);
        CHECK(untouched && n_below > 0, "clamp: the %d rows below tau are untouched, bit for bit", n_below);
    }

    // monitor and reduce of every block, in one configuration
    {
        config c;
        c.n_monitor = 1;
        for (int il = 0; il < L; ++il) { c.monitor.push_back(il); c.reduce.push_back(il); }
        bool ok = configure(e.ctx, c) == LLAMA_STEER_OK;
        for (int il = 0; il < L; ++il) ok &= llama_steer_set_monitor(e.ctx, il, v.data()) == LLAMA_STEER_OK;
        const llama_seq_id seq = 0;
        const llama_pos p0 = 2, p1 = N;
        ok &= llama_steer_commit(e.ctx) == LLAMA_STEER_OK && llama_steer_set_reduce_ranges(e.ctx, &seq, &p0, &p1, 1) == LLAMA_STEER_OK;
        const run_result r = e.run();
        ok &= r.ok;
        bool mon_rows = ok, sums_ok = ok;
        double mon_worst = 0, red_worst = 0;
        for (int il = 0; il < L && ok; ++il) {
            const std::vector<float> & h = base.rows.at(il);
            const float * proj; const llama_pos * pos;
            const int32_t n = llama_steer_get_monitor(e.ctx, il, &proj, &pos, nullptr);
            mon_rows &= n == N;
            for (int t = 0; t < n && t < N; ++t) {
                const double want = dot(&h[(size_t) t*E], v.data(), E);
                mon_worst = std::max(mon_worst, std::fabs(proj[t] - want)/(1.0 + norm_of(&h[(size_t) t*E], E)));
                mon_rows &= pos[t] == t;
            }
            int64_t count = 0;
            const float * sum = llama_steer_get_reduce(e.ctx, il, &count);
            sums_ok &= sum != nullptr && count == N - 2;
            double scale = 1.0;
            for (int t = 2; t < N; ++t) scale += norm_of(&h[(size_t) t*E], E);
            for (int i = 0; i < E && sum; ++i) {
                double want = 0;
                for (int t = 2; t < N; ++t) want += h[(size_t) t*E + i];
                red_worst = std::max(red_worst, std::fabs(sum[i] - want)/scale);
            }
        }
        CHECK(mon_rows && mon_worst <= 1e-5, "monitor of every block equals h.v^ of l_out (%d rows, worst %.2g relative)", N, mon_worst);
        CHECK(sums_ok && red_worst <= 1e-5, "reduce of every block over positions [2, %d) equals the sum of l_out rows (worst %.2g relative)", N, red_worst);
        CHECK(bit_identical(r.logits, base.logits), "monitor and reduce leave the logits bit-identical");
    }
    llama_steer_configure(e.ctx, nullptr);
    rep.result = "every block hooked";
}

bool quiet_progress(float, void *) { return true; }

} // namespace

int main(int argc, char ** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODELS_DIR [--table FILE]\n", argv[0]);
        return 2;
    }
    const fs::path dir = argv[1];
    std::string table_path;
    for (int i = 2; i + 1 < argc; ++i) {
        if (std::string(argv[i]) == "--table") table_path = argv[i + 1];
    }
    if (!std::getenv("PERSONA_STEER_LOG")) {
        llama_log_set([](ggml_log_level, const char *, void *) {}, nullptr);
    }
    llama_backend_init();

    std::vector<std::pair<const model_spec *, model_report>> reports;
    const std::vector<model_spec> all = arch_models::specs();
    for (const auto & spec : all) {
        model_env e;
        e.spec = &spec;
        model_report rep;
        const fs::path file = dir / (spec.name + ".gguf");
        llama_model_params mp = llama_model_default_params();
        mp.n_gpu_layers = 0;
        mp.progress_callback = quiet_progress;
        e.model = llama_model_load_from_file(file.string().c_str(), mp);
        CHECK(e.model != nullptr, "loads (%s, %s)", spec.arch.c_str(), file.string().c_str());
        if (e.model == nullptr) {
            rep.result = "does not load";
            reports.emplace_back(&spec, rep);
            continue;
        }
        e.n_embd = llama_model_n_embd(e.model);
        e.n_layer = llama_model_n_layer(e.model);
        e.n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(e.model));
        llama_context_params cp = llama_context_default_params();
        cp.n_ctx = 64;
        cp.n_batch = 64;
        cp.n_ubatch = 64;
        cp.n_seq_max = 1;
        cp.n_threads = 2;
        cp.n_threads_batch = 2;
        cp.cb_eval = l_out_oracle::eval;
        cp.cb_eval_user_data = &e.oracle;
        e.ctx = llama_init_from_model(e.model, cp);
        CHECK(e.ctx != nullptr && e.n_layer == (int) spec.n_layer, "context created, %d blocks", e.n_layer);
        if (e.ctx != nullptr) {
            const std::string text = "Once upon a time, there was a little girl named Lily.";
            std::vector<llama_token> toks(64);
            const int n = llama_tokenize(llama_model_get_vocab(e.model), text.c_str(), (int32_t) text.size(), toks.data(), 64, true, false);
            e.prompt.assign(toks.begin(), toks.begin() + std::max(n, 0));
            if (spec.hooked) {
                test_hooked(e, rep);
            } else {
                test_refused(e, rep);
            }
            llama_free(e.ctx);
        }
        llama_model_free(e.model);
        reports.emplace_back(&spec, rep);
    }

    if (!table_path.empty()) {
        std::ofstream t(table_path);
        t << "| model | architecture | what it exercises | weights | blocks | result |\n";
        t << "| --- | --- | --- | --- | --- | --- |\n";
        for (const auto & [spec, rep] : reports) {
            const std::string result = rep.failures > 0 ? fmt("FAILED %d of %d checks", rep.failures, rep.checks)
                                     : rep.result + fmt(" (%d checks pass)", rep.checks);
            t << "| " << spec->name << " | `" << spec->arch << "` | " << spec->kind << " | " << arch_models::ftype_name(spec->ftype)
              << " | " << spec->n_layer << " | " << result << " |\n";
        }
    }
    llama_backend_free();
    printf("1..%d\n", g_checks);
    printf("# %d models, %d checks, %d failed\n", (int) reports.size(), g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
