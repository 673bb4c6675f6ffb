#include "js-rows.h"

#include <cstring>

namespace ps {

Napi::Float32Array to_f32(Napi::Env env, const std::vector<float> & v) {
    Napi::Float32Array a = Napi::Float32Array::New(env, v.size());
    if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(float));
    return a;
}

Napi::Float64Array to_f64(Napi::Env env, const std::vector<double> & v) {
    Napi::Float64Array a = Napi::Float64Array::New(env, v.size());
    if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(double));
    return a;
}

Napi::Int32Array to_i32(Napi::Env env, const std::vector<int32_t> & v) {
    Napi::Int32Array a = Napi::Int32Array::New(env, v.size());
    if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(int32_t));
    return a;
}

Napi::Array rows_to_js(Napi::Env env, const std::map<int32_t, BlockRows> & m) {
    Napi::Array out = Napi::Array::New(env, m.size());
    uint32_t i = 0;
    for (const auto & [il, r] : m) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("block", il);
        o.Set("rows", to_f32(env, r.rows));
        o.Set("pos", to_i32(env, r.pos));
        o.Set("seq", to_i32(env, r.seq));
        out.Set(i++, o);
    }
    return out;
}

}  // namespace ps
