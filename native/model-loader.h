#pragma once
#include <napi.h>

namespace ps {
// loadModel(path, options, onProgress?) → { promise: Promise<NativeModel>, abort(): void }
Napi::Value load_model(const Napi::CallbackInfo & info);
}  // namespace ps
