#pragma once
// The boundary between JavaScript and llama.cpp: a native method body runs inside `guarded`, so
// no C++ exception (std::out_of_range from a broken vocabulary, std::bad_alloc) and no ggml
// assertion on this thread (AbortGuard) can reach std::terminate. They become a PersonaSteerError
// with `code` and the native reason; Napi::Error (already typed) passes through unchanged.
#include <napi.h>

#include <string>
#include <utility>

#include "abort-guard.h"
#include "errors.h"

namespace ps {

template <typename F>
auto guarded(Napi::Env env, const char * what, const char * code, F && body) -> decltype(body()) {
    try {
        AbortGuard guard;
        return body();
    } catch (const Napi::Error &) {
        throw;
    } catch (const std::bad_alloc &) {
        throw_error(env, code, std::string(what) + ": out of memory");
    } catch (const std::exception & e) {
        throw_error(env, code, std::string(what) + " failed inside llama.cpp: " + e.what());
    }
}

}  // namespace ps
