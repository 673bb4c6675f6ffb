#pragma once
// Every wrapped class tags its JavaScript objects (napi_type_tag_object, as better-sqlite3 does),
// so a native call given an object of another class, or a plain object, throws ERR_INVALID_ARG
// instead of unwrapping it into a wild pointer.
#include <napi.h>

#include <string>

#include "errors.h"

namespace ps {

// Random 128-bit values, one per class; they only need to differ from each other and from other addons'.
constexpr napi_type_tag kModelTag = {0x5a1b6c3e9d204f81ULL, 0xb07e2a4c1f9d3e65ULL};
constexpr napi_type_tag kContextTag = {0x2c8d4e1f7a3b9056ULL, 0xe4f1a7c92b6d0183ULL};

// The object behind `v` when it carries `tag`; otherwise ERR_INVALID_ARG naming `what`.
template <class T>
T * unwrap_tagged(Napi::Env env, Napi::Value v, const napi_type_tag & tag, const char * what) {
    if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&tag)) {
        throw_error(env, codes::INVALID_ARG, std::string(what) + " must be a native " + what + " object created by persona-steer");
    }
    return T::Unwrap(v.As<Napi::Object>());
}

}  // namespace ps
