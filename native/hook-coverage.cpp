#include "hook-coverage.h"

#include "errors.h"
#include "llama-steer.h"

#include <algorithm>

namespace ps {

namespace {
std::string join(const std::vector<int32_t> & v) {
    std::string s;
    for (size_t i = 0; i < v.size(); i++) s += (i ? ", " : "") + std::to_string(v[i]);
    return s;
}
}  // namespace

HookCoverage HookCoverage::of(llama_context * ctx) {
    HookCoverage c;
    const llama_model * model = llama_get_model(ctx);
    char arch[128] = "unknown";
    llama_model_meta_val_str(model, "general.architecture", arch, sizeof(arch));
    c.arch = arch;
    c.hooked.assign((size_t) std::max(0, llama_model_n_layer(model)), 0);
    const int32_t n = llama_steer_hooked_blocks(ctx, c.hooked.data(), (int32_t) c.hooked.size());
    if (n < 0) std::fill(c.hooked.begin(), c.hooked.end(), 0);
    return c;
}

void HookCoverage::require(const std::vector<int32_t> & blocks, const std::string & what) const {
    std::vector<int32_t> missing, present;
    for (int32_t il : blocks) {
        const bool ok = il >= 0 && (size_t) il < hooked.size() && hooked[il];
        if (!ok && std::find(missing.begin(), missing.end(), il) == missing.end()) missing.push_back(il);
    }
    if (missing.empty()) return;
    std::sort(missing.begin(), missing.end());
    for (size_t il = 0; il < hooked.size(); il++) {
        if (hooked[il]) present.push_back((int32_t) il);
    }
    const std::string which = missing.size() == 1 ? "block " + join(missing) : "blocks " + join(missing);
    throw CodedError(codes::UNSUPPORTED_ARCH,
        what + ": " + which + " of this " + arch + " model " + (missing.size() == 1 ? "has" : "have") +
        " no residual-stream hook (the request would be silently ignored there); " +
        (present.empty() ? "llama.cpp's " + arch + " graph has no block output to hook (encoders such as BERT have none)"
                         : "hooked blocks: " + join(present)));
}

}  // namespace ps
