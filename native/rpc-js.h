#pragma once
// The JavaScript side of native/rpc.h: Model.load's rpcServers/tensorSplit, and the rpc-server.
#include <napi.h>

#include <string>
#include <vector>

#include "llama.h"
#include "rpc.h"

namespace ps {

// rpcServers / tensorSplit of loadModel's options (validated in lib/rpc.ts), resolved into
// llama_model_params on the load thread (probing servers may take up to timeout_ms each).
struct RpcLoadOptions {
    std::vector<std::string> servers;
    std::vector<float> tensor_split;
    int timeout_ms = 5000;
    // Kept alive until llama_model_load_from_file returns.
    std::vector<ggml_backend_dev_t> devices;
    std::vector<float> split;

    bool used() const { return !servers.empty(); }
    // Fills params.devices / params.tensor_split; returns an error (code "" on success).
    RpcError apply(llama_model_params & params);
};
RpcLoadOptions read_rpc_load_options(const Napi::Object & opts);

// rpcProtocolVersion, rpcStartServer(endpoint, threads), rpcProbe(endpoint, timeoutMs).
void rpc_exports(Napi::Env env, Napi::Object exports);

}  // namespace ps
