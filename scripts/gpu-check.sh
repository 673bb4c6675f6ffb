#!/usr/bin/env bash
# GPU check (Linux + NVIDIA): builds the addon and the native hook tests with CUDA, runs the GPU
# test group with every block offloaded, then the hook overhead measurement.
#   scripts/gpu-check.sh [OUT_DIR]
# Works from a development checkout (npm install done: node_modules/, vendor/llama.cpp) or, on a
# bare machine, from .gpu/ (node.xz and node-headers.tar.xz, see the comments below). Needs a
# CUDA toolkit; cuBLAS may come from the toolkit or from pip's nvidia-cublas wheels.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-${OUT:-gpu-out}}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu-check.log") 2>&1
T0=$(date +%s)
stamp() { echo "[gpu-check +$(( $(date +%s) - T0 ))s] $*"; }
export PATH=/usr/local/cuda/bin:$PATH

# Node: the machine's, or a copy carried as .gpu/node.xz (xz -c "$(which node)" > .gpu/node.xz).
if ! command -v node >/dev/null; then
  mkdir -p /tmp/nodebin && xz -dc .gpu/node.xz > /tmp/nodebin/node && chmod +x /tmp/nodebin/node
  export PATH=/tmp/nodebin:$PATH
fi
# N-API headers: node_modules, or .gpu/node-headers.tar.xz (node-addon-api + node-api-headers).
if [ ! -d node_modules/node-addon-api ]; then tar -xJf .gpu/node-headers.tar.xz; fi
MODELS=${PERSONA_STEER_MODELS:-$( [ -f .gpu/stories260K.gguf ] && echo .gpu || echo ../shared/models )}
nvidia-smi -L; nvcc --version | tail -1; node --version; nproc
stamp "configure"

INC="$PWD/node_modules/node-api-headers/include;$PWD/node_modules/node-addon-api"
# Same place cmake-js uses, so the loader finds build-cuda/Release/persona_steer.node; with dynamically
# loaded backends libggml-cuda.so and the CPU library land beside it.
OUTDIR_ARG="-DCMAKE_LIBRARY_OUTPUT_DIRECTORY=$PWD/build-cuda/Release"
ARGS=(-S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DPERSONA_STEER_CUDA=ON -DPERSONA_STEER_NATIVE_TESTS=ON
      -DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCH:-90} -DGGML_CUDA_FA=OFF "-DCMAKE_JS_INC=$INC" "$OUTDIR_ARG" -DCMAKE_CXX_FLAGS=-DBUILDING_NODE_EXTENSION)
if ! cmake "${ARGS[@]}" > "$OUT/configure.log" 2>&1; then
  # Toolkit without cuBLAS: use the pip wheels' library and headers.
  L=$(dirname "$(find / -xdev -name 'libcublas.so.*' 2>/dev/null | head -1)")
  I=$(dirname "$(find / -xdev -name cublas_v2.h 2>/dev/null | head -1)")
  stamp "no cuBLAS in the toolkit; using $L and $I"
  mkdir -p /tmp/cb && for n in cublas cublasLt; do ln -sf "$(ls "$L"/lib$n.so.* | head -1)" /tmp/cb/lib$n.so; done
  export LD_LIBRARY_PATH=$L:${LD_LIBRARY_PATH:-}
  rm -rf build-cuda
  cmake "${ARGS[@]}" -DCUDA_cublas_LIBRARY=/tmp/cb/libcublas.so -DCUDA_cublasLt_LIBRARY=/tmp/cb/libcublasLt.so \
    "-DCMAKE_CXX_FLAGS=-DBUILDING_NODE_EXTENSION -I$I" "-DCMAKE_CUDA_FLAGS=-I$I" > "$OUT/configure2.log" 2>&1 \
    || { tail -30 "$OUT/configure2.log"; exit 1; }
fi
stamp "build"
ninja -C build-cuda ${GPU_CHECK_TARGETS:-persona_steer persona_steer_native_test} > "$OUT/build.log" 2>&1 \
  || { grep -m5 -B2 -A8 "error" "$OUT/build.log"; tail -5 "$OUT/build.log"; exit 1; }
stamp "built"

status=0
stamp "native hook tests, every block offloaded"
if [ -x build-cuda/test/native/persona_steer_native_test ]; then
  PERSONA_STEER_BACKEND_DIR=$PWD/build-cuda/Release STEER_TEST_GPU_LAYERS=-1 timeout 180 build-cuda/test/native/persona_steer_native_test "$MODELS/stories260K.gguf" > "$OUT/native-test.log" 2>&1 || status=1
  grep -c "^ok" "$OUT/native-test.log" | sed 's/^/native checks ok: /'; grep "^not ok" "$OUT/native-test.log" || true
else
  echo "native hook tests not built (GPU_CHECK_TARGETS)"
fi

stamp "Node GPU checks and overhead"
PERSONA_STEER_ADDON=build-cuda/Release/persona_steer.node PERSONA_STEER_MODELS=$MODELS \
  timeout 300 node scripts/gpu-smoke.js "$OUT/gpu-smoke.json" || status=1
if [ -d node_modules/tap ] && [ -z "${GPU_CHECK_QUICK:-}" ]; then
  stamp "GPU test group (tap)"
  PERSONA_STEER_ADDON=build-cuda/Release/persona_steer.node PERSONA_STEER_MODELS=$MODELS node scripts/run-tests.mjs gpu || status=1
fi
stamp "done, status $status"
exit $status
