#pragma once
// ggml's RPC backend (docs/distributed.md): resolving `rpcServers` into model devices with the
// failures ggml would abort on turned into coded errors, and the rpc-server run by
// `persona-steer rpc-server`. Free of napi.h except for the two entry points at the bottom.
#include "ggml-backend.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ps {

struct RpcError {
    std::string code;      // "" on success, else an ERR_RPC_* / ERR_INVALID_ARG code
    std::string message;
};

// The RPC protocol version this build speaks (ggml-rpc.h), as "major.minor.patch".
std::string rpc_protocol_version();
// True when ggml's RPC backend is compiled in or its library was loaded.
bool rpc_available();

// TCP connect + ggml's HELLO handshake with a timeout; the version must equal this build's.
RpcError rpc_probe(const std::string & endpoint, int timeout_ms);

// Model devices for Model.load: the devices of each server, in order (each endpoint is probed the
// first time this process uses it; ggml aborts where a probe answers with an error), then the
// local GPUs. `tensor_split` (may be empty) gets one proportion per device.
RpcError rpc_model_devices(const std::vector<std::string> & endpoints, const std::vector<float> & tensor_split,
                           int timeout_ms, std::vector<ggml_backend_dev_t> & devices, std::vector<float> & split_out);

// ggml aborts the process when a server it is using stops answering (ggml-rpc.cpp:
// RPC_STATUS_ASSERT); this prints what happened and which servers were in use first.
void rpc_install_abort_message();

// Serves this process's devices (CPU, and GPUs when present) on `endpoint` on a thread of its own,
// until the process ends. Returns "" or an error message.
std::string rpc_start_server(const std::string & endpoint, int n_threads);

}  // namespace ps
