#pragma once
// Reads the plain objects that lib/native.ts passes (already validated in TypeScript; these
// checks only keep a malformed call from crashing the process).
#include <napi.h>

#include "batch-decode.h"
#include "sampling.h"

#include <vector>

namespace ps {

SamplingOptions read_sampling(Napi::Env env, Napi::Value v);
std::vector<SeqTokens> read_sequences(Napi::Env env, Napi::Value v);
std::vector<int32_t> read_int_list(Napi::Env env, Napi::Value v, const char * what);
std::vector<float> read_floats(Napi::Env env, Napi::Value v, const char * what);

int32_t get_int(Napi::Env env, Napi::Object o, const char * key, int32_t fallback);
double get_number(Napi::Env env, Napi::Object o, const char * key, double fallback);
bool get_bool(Napi::Env env, Napi::Object o, const char * key, bool fallback);
std::string get_string(Napi::Env env, Napi::Object o, const char * key, const std::string & fallback);

}  // namespace ps
