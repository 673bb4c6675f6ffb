#pragma once
// llama.cpp and ggml stop the process (abort()) when an internal assertion fails. A hostile model
// file reaches many of them while it loads or while its vocabulary tokenizes. Inside an
// AbortGuard, on the guarding thread only, such a failure throws LlamaAbort instead: llama.cpp's
// loader catches it like its own errors and returns no model, and the addon's boundary turns it
// into a typed error. Everywhere else (decoding on ggml's worker threads) aborts stay aborts; the
// model pre-flight check keeps those from being reachable (docs/errors.md).
#include <stdexcept>
#include <string>

namespace ps {

struct LlamaAbort : std::runtime_error {
    explicit LlamaAbort(const std::string & what) : std::runtime_error(what) {}
};

class AbortGuard {
public:
    AbortGuard();
    ~AbortGuard();
    AbortGuard(const AbortGuard &) = delete;
    AbortGuard & operator=(const AbortGuard &) = delete;

    // The message of the last assertion turned into an exception on this thread, cleared by the
    // call: llama.cpp catches exceptions in some places (context creation) and only returns null.
    static std::string take_last_abort();
};

// Installs the handler (process-wide; once). Called with the backend.
void install_abort_handler();

// Adds a function that writes a note to stderr when an unguarded abort is about to end the process
// (after ggml's own message); one handler serves both, since ggml keeps a single abort callback.
void add_abort_note(void (*note)());

}  // namespace ps
