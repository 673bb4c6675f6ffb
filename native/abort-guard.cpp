#include "abort-guard.h"

#include "ggml.h"

#include <cstdio>
#include <cstring>
#include <algorithm>
#include <mutex>
#include <vector>

namespace ps {

namespace {

thread_local int t_depth = 0;
std::mutex g_notes_mutex;
std::vector<void (*)()> g_notes;
thread_local std::string t_last_abort;

// "../vendor/llama.cpp/src/llama-model.cpp:1226: GGML_ASSERT(...) failed" -> "src/llama-model.cpp:1226: ..."
std::string tidy(const char * message) {
    std::string m = message ? message : "ggml_abort";
    for (const char * root : {"llama.cpp/", "llama.cpp\\"}) {
        const size_t colon = m.find(": ");
        const size_t at = m.rfind(root, colon);
        if (at != std::string::npos && colon != std::string::npos) return m.substr(at + std::strlen(root));
    }
    return m;
}

void on_abort(const char * message) {
    if (t_depth > 0) {
        t_last_abort = tidy(message);
        throw LlamaAbort(t_last_abort);
    }
    // Unguarded: what ggml does without a handler (it aborts once this returns), plus the notes.
    std::fprintf(stderr, "%s\n", message ? message : "ggml_abort");
    std::vector<void (*)()> notes;
    {
        std::lock_guard<std::mutex> lock(g_notes_mutex);
        notes = g_notes;
    }
    for (auto note : notes) note();
    std::fflush(stderr);
}

}  // namespace

AbortGuard::AbortGuard() { t_depth++; }
AbortGuard::~AbortGuard() { t_depth--; }

std::string AbortGuard::take_last_abort() {
    std::string out;
    out.swap(t_last_abort);
    return out;
}

void add_abort_note(void (*note)()) {
    install_abort_handler();
    std::lock_guard<std::mutex> lock(g_notes_mutex);
    if (std::find(g_notes.begin(), g_notes.end(), note) == g_notes.end()) g_notes.push_back(note);
}

void install_abort_handler() {
    static std::once_flag once;
    std::call_once(once, [] { ggml_set_abort_callback(on_abort); });
}

}  // namespace ps
