#include "backend.h"

#include "llama.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace ps {

namespace {
std::mutex g_mutex;
int g_users = 0;

thread_local std::string t_last_error;

// llama.cpp logs to stderr by default; a library stays quiet unless asked, and keeps the
// latest error line of this thread so a failure can say why.
void log_filter(ggml_log_level level, const char * text, void *) {
    static const bool verbose = std::getenv("PERSONA_STEER_LOG") != nullptr;
    if (verbose) std::fputs(text, stderr);
    if (level == GGML_LOG_LEVEL_ERROR) {
        t_last_error = text;
        while (!t_last_error.empty() && (t_last_error.back() == '\n' || t_last_error.back() == ' ')) t_last_error.pop_back();
    }
}
}  // namespace

std::string take_last_llama_error() {
    std::string out;
    out.swap(t_last_error);
    return out;
}

void backend_acquire() {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_users++ == 0) {
        llama_log_set(log_filter, nullptr);
        llama_backend_init();
    }
}

void backend_release() {
    std::lock_guard<std::mutex> lock(g_mutex);
    // llama_backend_free only tears down global state that re-init restores; keep it paired.
    if (--g_users == 0) llama_backend_free();
}

}  // namespace ps
