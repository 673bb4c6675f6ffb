#include "rpc-js.h"

#include "errors.h"

#include <algorithm>

namespace ps {

RpcLoadOptions read_rpc_load_options(const Napi::Object & opts) {
    RpcLoadOptions o;
    if (opts.Has("rpcServers") && opts.Get("rpcServers").IsArray()) {
        Napi::Array a = opts.Get("rpcServers").As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); i++) o.servers.push_back(a.Get(i).As<Napi::String>().Utf8Value());
    }
    if (opts.Has("tensorSplit") && opts.Get("tensorSplit").IsArray()) {
        Napi::Array a = opts.Get("tensorSplit").As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); i++) o.tensor_split.push_back(a.Get(i).As<Napi::Number>().FloatValue());
    }
    if (opts.Has("rpcTimeoutMs") && opts.Get("rpcTimeoutMs").IsNumber()) o.timeout_ms = opts.Get("rpcTimeoutMs").As<Napi::Number>().Int32Value();
    return o;
}

RpcError RpcLoadOptions::apply(llama_model_params & params) {
    if (!used()) {
        if (!tensor_split.empty()) {
            // A split over local GPUs only.
            split = tensor_split;
            split.resize(std::max(split.size(), llama_max_devices()), 0.0f);
            params.tensor_split = split.data();
        }
        return {};
    }
    rpc_install_abort_message();
    RpcError e = rpc_model_devices(servers, tensor_split, timeout_ms, devices, split);
    if (!e.code.empty()) return e;
    if (devices.size() > llama_max_devices()) {
        return { codes::INVALID_ARG, "options.rpcServers: " + std::to_string(devices.size()) + " devices, at most " + std::to_string(llama_max_devices()) };
    }
    devices.push_back(nullptr);   // llama_model_params.devices is NULL-terminated
    params.devices = devices.data();
    params.split_mode = LLAMA_SPLIT_MODE_LAYER;
    if (!split.empty()) {
        split.resize(llama_max_devices(), 0.0f);
        params.tensor_split = split.data();
    }
    return {};
}

namespace {

Napi::Value start_server(const Napi::CallbackInfo & info) {
    const std::string endpoint = info[0].As<Napi::String>().Utf8Value();
    const int threads = info[1].As<Napi::Number>().Int32Value();
    const std::string err = rpc_start_server(endpoint, threads);
    if (!err.empty()) throw_error(info.Env(), rpc_available() ? codes::NATIVE : codes::UNAVAILABLE, err);
    return info.Env().Undefined();
}

// Blocks the calling thread for at most timeoutMs: for the CLI and tests, not for hot paths.
Napi::Value probe(const Napi::CallbackInfo & info) {
    const RpcError e = rpc_probe(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Number>().Int32Value());
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("code", e.code.empty() ? info.Env().Null() : Napi::Value(Napi::String::New(info.Env(), e.code)));
    o.Set("message", e.message);
    return o;
}

}  // namespace

void rpc_exports(Napi::Env env, Napi::Object exports) {
    exports.Set("rpcAvailable", Napi::Function::New(env, [](const Napi::CallbackInfo & i) { return Napi::Boolean::New(i.Env(), rpc_available()); }, "rpcAvailable"));
    exports.Set("rpcProtocolVersion", Napi::String::New(env, rpc_protocol_version()));
    exports.Set("rpcStartServer", Napi::Function::New(env, start_server, "rpcStartServer"));
    exports.Set("rpcProbe", Napi::Function::New(env, probe, "rpcProbe"));
}

}  // namespace ps
