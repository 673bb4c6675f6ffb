#pragma once
// llama_backend_init/free are process-wide; environments (main thread, worker threads) share them.
#include "ggml.h"

#include <string>
#include <vector>

struct ggml_type_traits_cpu;   // ggml-cpu.h

namespace ps {
void backend_acquire();
void backend_release();
// The last error llama.cpp logged on the calling thread, cleared by the call.
std::string take_last_llama_error();

// One registered ggml backend: its name, the library it was loaded from (empty when compiled in)
// and, for the CPU backend of a dynamically loaded build, the variant (libggml-cpu-<variant>).
struct BackendInfo {
    std::string name;
    std::string library;
    std::string variant;
    std::vector<std::pair<std::string, std::string>> features;
};
struct BackendsInfo {
    bool dynamic = false;         // built with GGML_BACKEND_DL
    std::string addon_path;       // this .node
    std::string backend_dir;      // where backends were loaded from (dynamic builds)
    std::vector<BackendInfo> backends;
};
// Loads the backends once per process (dynamic builds) and describes what was registered.
BackendsInfo backends_info();

// ggml_get_type_traits_cpu of the CPU backend in use: linked in a static build, looked up in the
// CPU variant's library in a dynamically loaded one (libggml does not export it there). Null when
// no CPU backend is loaded.
const ::ggml_type_traits_cpu * cpu_type_traits(ggml_type type);

// Forgets this thread's logged errors (before an operation whose failure reason is wanted).
void clear_llama_errors();
// Why the last operation on this thread failed, from every error line llama.cpp logged since the
// last take or clear (generic "failed to load model" lines left out); "" when it logged none.
std::string take_llama_error_reason();
}  // namespace ps
