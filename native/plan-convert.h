#pragma once
// Reads steering plans and monitor specs from the plain objects lib/native.ts builds.
#include <napi.h>

#include <memory>

#include "steer-session.h"

namespace ps {

// { positions: 'all'|'prompt'|'generated', ops: [{ kind: 'add'|'clamp', blocks: Int32Array,
//   vectors: Float32Array [blocks.length * n_embd], scale?, min?, max? }] }
// Throws ERR_INVALID_ARG (via Napi::Error) on anything compile_plan rejects.
std::shared_ptr<const SteerPlan> read_plan(Napi::Env env, Napi::Value v, int32_t n_embd, int32_t n_layer);

// { nDirs, blocks: [{ block, directions: Float32Array [nDirs * n_embd] }] } or null.
// Directions are normalised here so that projections are h . v / |v|.
MonitorSpec read_monitor(Napi::Env env, Napi::Value v, int32_t n_embd, int32_t n_layer);

}  // namespace ps
