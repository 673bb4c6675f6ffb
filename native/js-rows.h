#pragma once
// Conversions of native results to JavaScript values (JavaScript thread only).
#include <napi.h>

#include <map>
#include <vector>

#include "steer-session.h"

namespace ps {

Napi::Float32Array to_f32(Napi::Env env, const std::vector<float> & v);
Napi::Float64Array to_f64(Napi::Env env, const std::vector<double> & v);
Napi::Int32Array to_i32(Napi::Env env, const std::vector<int32_t> & v);
// [{ block, rows: Float32Array, pos: Int32Array, seq: Int32Array }] in block order
Napi::Array rows_to_js(Napi::Env env, const std::map<int32_t, BlockRows> & m);

}  // namespace ps
