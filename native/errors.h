#pragma once
// Errors cross into JavaScript as plain Error objects with a `code`; lib/native.ts turns them
// into PersonaSteerError. Codes are the stable strings listed in docs/errors.md.
#include <napi.h>

#include "error-codes.h"

#include <stdexcept>
#include <string>

namespace ps {

// Thrown on context threads and carried back as a rejection.
struct CodedError : std::runtime_error {
    std::string code;
    CodedError(std::string c, const std::string & msg) : std::runtime_error(msg), code(std::move(c)) {}
};

Napi::Error make_error(Napi::Env env, const std::string & code, const std::string & message);
[[noreturn]] void throw_error(Napi::Env env, const std::string & code, const std::string & message);

}  // namespace ps
