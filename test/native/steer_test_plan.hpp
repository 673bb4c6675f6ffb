// A steering plan for one block (an additive vector, then simultaneous clamps of the projections on
// unit directions, computed from the post-addition h), two ways:
//   - slot(): what the patch is given (directions, addition, bounds)
//   - apply(): a double-precision host reference on raw rows, used through cb_eval writes
// The two share nothing but the plan, so agreement checks the patch's graph ops.
#pragma once

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace steer_test {

struct plan {
    int n_embd = 0;
    std::vector<float> add;                // [n_embd] or empty
    std::vector<std::vector<float>> dirs;  // unit directions
    std::vector<float> lo, hi;             // bounds per direction

    int n_dirs() const { return (int) dirs.size(); }

    // What the patch takes for one slot, padded to n_cap directions (extra rows zero and unbounded).
    // The patch shifts the bounds by d.c and clamps d.h in the graph; apply() instead adds first and
    // clamps the projection of h + a in double, so the two share nothing but the plan.
    void slot(int n_cap, std::vector<float> & D, std::vector<float> & c, std::vector<float> & l, std::vector<float> & h) const {
        const int E = n_embd;
        D.assign((size_t) n_cap*E, 0.0f);
        c.assign(E, 0.0f);
        l.assign(n_cap, -INFINITY);
        h.assign(n_cap, INFINITY);
        if (!add.empty()) {
            std::copy(add.begin(), add.end(), c.begin());
        }
        for (int k = 0; k < (int) dirs.size(); ++k) {
            std::copy(dirs[k].begin(), dirs[k].end(), D.begin() + (size_t) k*E);
            l[k] = lo[k];
            h[k] = hi[k];
        }
    }

    void apply(float * rows, int64_t n_rows) const {
        const int E = n_embd;
        std::vector<double> h(E);
        for (int64_t r = 0; r < n_rows; ++r) {
            float * x = rows + r*E;
            for (int i = 0; i < E; ++i) {
                h[i] = (double) x[i] + (add.empty() ? 0.0 : (double) add[i]);
            }
            std::vector<double> delta(E, 0.0);
            for (size_t k = 0; k < dirs.size(); ++k) {
                double p = 0;
                for (int i = 0; i < E; ++i) {
                    p += h[i]*dirs[k][i];
                }
                const double c = std::min<double>(std::max<double>(p, lo[k]), hi[k]);
                for (int i = 0; i < E; ++i) {
                    delta[i] += (c - p)*dirs[k][i];
                }
            }
            for (int i = 0; i < E; ++i) {
                x[i] = (float) (h[i] + delta[i]);
            }
        }
    }
};

// k orthonormal random directions (Gram-Schmidt), so that clamping one leaves the others' projections
inline std::vector<std::vector<float>> orthonormal(int k, int n, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> nd(0.0, 1.0);
    std::vector<std::vector<double>> v(k, std::vector<double>(n));
    for (int a = 0; a < k; ++a) {
        for (auto & x : v[a]) {
            x = nd(rng);
        }
        for (int c = 0; c < a; ++c) {
            double d = 0;
            for (int i = 0; i < n; ++i) {
                d += v[a][i]*v[c][i];
            }
            for (int i = 0; i < n; ++i) {
                v[a][i] -= d*v[c][i];
            }
        }
        double nn = 0;
        for (double x : v[a]) {
            nn += x*x;
        }
        for (auto & x : v[a]) {
            x /= std::sqrt(nn);
        }
    }
    std::vector<std::vector<float>> out(k, std::vector<float>(n));
    for (int a = 0; a < k; ++a) {
        for (int i = 0; i < n; ++i) {
            out[a][i] = (float) v[a][i];
        }
    }
    return out;
}

inline std::vector<float> random_vec(int n, float scale, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> v(n);
    for (auto & x : v) {
        x = scale*nd(rng);
    }
    return v;
}

} // namespace steer_test
