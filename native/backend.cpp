#include "backend.h"

#include "abort-guard.h"
#include "llama.h"
#include "malloc-tuning.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <cstring>
#include <string>
#include <vector>

namespace ps {

namespace {
std::mutex g_mutex;
int g_users = 0;

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
        install_abort_handler();
        pin_mmap_threshold();
        llama_backend_init();
    }
}

void backend_release() {
    std::lock_guard<std::mutex> lock(g_mutex);
    // llama_backend_free only tears down global state that re-init restores; keep it paired.
    if (--g_users == 0) llama_backend_free();
}

}  // namespace ps
