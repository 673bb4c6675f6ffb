#include "backend.h"

#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "abort-guard.h"
#include "llama.h"
#include "malloc-tuning.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <cstring>
#include <string>
#include <vector>

#ifdef _WIN32
#    ifndef WIN32_LEAN_AND_MEAN
#        define WIN32_LEAN_AND_MEAN
#    endif
#    ifndef NOMINMAX
#        define NOMINMAX
#    endif
#    include <windows.h>
#else
#    include <dlfcn.h>
#endif

namespace ps {

namespace {
std::mutex g_mutex;
int g_users = 0;
std::once_flag g_load_once;
std::string g_backend_dir;

thread_local std::string t_last_error;
// Every error line of this thread since the last take (a load logs the cause first and a generic
// "failed to load model" last); bounded so a chatty failure cannot grow it.
thread_local std::vector<std::string> t_errors;
constexpr size_t kMaxErrorLines = 16;

// llama.cpp logs to stderr by default; a library stays quiet unless asked, and keeps the
// error lines of this thread so a failure can say why.
void log_filter(ggml_log_level level, const char * text, void *) {
    static const bool verbose = std::getenv("PERSONA_STEER_LOG") != nullptr;
    if (verbose) std::fputs(text, stderr);
    if (level == GGML_LOG_LEVEL_ERROR) {
        t_last_error = text;
        while (!t_last_error.empty() && (t_last_error.back() == '\n' || t_last_error.back() == ' ')) t_last_error.pop_back();
        if (t_errors.size() < kMaxErrorLines) t_errors.push_back(t_last_error);
    }
}

// The file a function's code lives in: this .node, or a backend library ggml loaded.
std::string module_path_of(const void * addr) {
#ifdef _WIN32
    HMODULE mod = nullptr;
    if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                            (LPCWSTR) addr, &mod)) return {};
    wchar_t buf[32768];
    DWORD n = GetModuleFileNameW(mod, buf, (DWORD) (sizeof(buf) / sizeof(buf[0])));
    if (n == 0) return {};
    int len = WideCharToMultiByte(CP_UTF8, 0, buf, (int) n, nullptr, 0, nullptr, nullptr);
    std::string out((size_t) len, '\0');
    WideCharToMultiByte(CP_UTF8, 0, buf, (int) n, out.data(), len, nullptr, nullptr);
    return out;
#else
    Dl_info info{};
    if (dladdr(addr, &info) == 0 || info.dli_fname == nullptr) return {};
    return info.dli_fname;
#endif
}

std::string dir_of(const std::string & file) {
    const size_t slash = file.find_last_of("/\\");
    return slash == std::string::npos ? std::string(".") : file.substr(0, slash);
}

std::string base_of(const std::string & file) {
    const size_t slash = file.find_last_of("/\\");
    return slash == std::string::npos ? file : file.substr(slash + 1);
}

void load_backends_once() {
#ifdef GGML_BACKEND_DL
    // Backends sit beside the addon wherever it was installed (build/Release, prebuilds/<platform>,
    // node_modules, app.asar.unpacked); ggml's default search (the node executable's folder and
    // the working directory) would not find them. PERSONA_STEER_BACKEND_DIR overrides the folder.
    std::call_once(g_load_once, []() {
        const char * env = std::getenv("PERSONA_STEER_BACKEND_DIR");
        g_backend_dir = env && *env ? std::string(env) : dir_of(module_path_of((const void *) &module_path_of));
        ggml_backend_load_all_from_path(g_backend_dir.c_str());
    });
#endif
}

bool contains(const std::string & s, const char * what) { return s.find(what) != std::string::npos; }
}  // namespace

std::string take_last_llama_error() {
    std::string out;
    out.swap(t_last_error);
    t_errors.clear();
    return out;
}

void clear_llama_errors() {
    t_last_error.clear();
    t_errors.clear();
}

std::string take_llama_error_reason() {
    std::vector<std::string> lines;
    lines.swap(t_errors);
    t_last_error.clear();
    std::string out;
    for (std::string line : lines) {
        // Lines that only say that something failed, not why.
        if (contains(line, "failed to load model") && !contains(line, "error loading model")) continue;
        // "llama_model_load: error loading model: error loading model hyperparameters: X" -> "error loading model hyperparameters: X"
        const size_t at = line.find("error loading model: ");
        if (at != std::string::npos) line = line.substr(at + std::strlen("error loading model: "));
        if (line.empty() || contains(out, line.c_str())) continue;
        if (!out.empty()) out += "; ";
        out += line;
    }
    return out;
}

void backend_acquire() {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_users++ == 0) {
        llama_log_set(log_filter, nullptr);
        load_backends_once();
        install_abort_handler();
        pin_mmap_threshold();
        llama_backend_init();
    }
}

void backend_release() {
    std::lock_guard<std::mutex> lock(g_mutex);
    // llama_backend_free only tears down global state that re-init restores; keep it paired.
    // Backend libraries stay loaded for the life of the process (ggml never unloads them).
    if (--g_users == 0) llama_backend_free();
}

BackendsInfo backends_info() {
    load_backends_once();
    BackendsInfo out;
#ifdef GGML_BACKEND_DL
    out.dynamic = true;
    out.backend_dir = g_backend_dir;
#endif
    out.addon_path = module_path_of((const void *) &module_path_of);
    for (size_t i = 0; i < ggml_backend_reg_count(); i++) {
        ggml_backend_reg_t reg = ggml_backend_reg_get(i);
        BackendInfo b;
        b.name = ggml_backend_reg_name(reg);
        auto get_features = (ggml_backend_get_features_t) ggml_backend_reg_get_proc_address(reg, "ggml_backend_get_features");
        if (get_features) {
            for (ggml_backend_feature * f = get_features(reg); f && f->name; f++) b.features.emplace_back(f->name, f->value);
        }
#ifdef GGML_BACKEND_DL
        // The registry is a static object of the backend's library: its address locates the file
        // (and the CPU variant is in the file name); a function of it, when that fails.
        b.library = module_path_of((const void *) reg);
        if (b.library.empty() && get_features) b.library = module_path_of((const void *) get_features);
        const std::string base = base_of(b.library);
        for (const char * prefix : {"libggml-cpu-", "ggml-cpu-"}) {
            const std::string p = prefix;
            if (base.compare(0, p.size(), p) == 0) {
                const size_t ext = base.rfind('.');   // variant names have dots of their own (armv8.2_1)
                b.variant = base.substr(p.size(), ext == std::string::npos || ext < p.size() ? std::string::npos : ext - p.size());
            }
        }
        if (b.variant.empty() && (base == "libggml-cpu.so" || base == "ggml-cpu.dll" || base == "libggml-cpu.dylib")) b.variant = "portable";
#endif
        out.backends.push_back(std::move(b));
    }
    return out;
}

const ggml_type_traits_cpu * cpu_type_traits(ggml_type type) {
#ifdef GGML_BACKEND_DL
    using fn_t = const ggml_type_traits_cpu * (*)(ggml_type);
    static const fn_t fn = []() -> fn_t {
        load_backends_once();
        ggml_backend_reg_t reg = ggml_backend_reg_by_name("CPU");
        if (reg == nullptr) return nullptr;
        // The registry object lives in the chosen CPU library: its module exports the function.
#    ifdef _WIN32
        HMODULE mod = nullptr;
        if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                                (LPCWSTR) (const void *) reg, &mod)) return nullptr;
        return (fn_t) GetProcAddress(mod, "ggml_get_type_traits_cpu");
#    else
        Dl_info info{};
        if (dladdr((const void *) reg, &info) == 0 || info.dli_fname == nullptr) return nullptr;
        void * h = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);   // already loaded by ggml: no new load
        if (h == nullptr) return nullptr;
        return (fn_t) dlsym(h, "ggml_get_type_traits_cpu");   // the handle stays: ggml never unloads it
#    endif
    }();
    return fn ? fn(type) : nullptr;
#else
    return ggml_get_type_traits_cpu(type);
#endif
}

}  // namespace ps
