# llama.cpp options shared by the addon (CMakeLists.txt) and llama-bench
# (scripts/build-llama-bench.mjs): static libllama and ggml only, no tools, no network code,
# backends compiled in. The includer sets GGML_NATIVE, GGML_CUDA and GGML_METAL itself.
set(LLAMA_BUILD_COMMON OFF CACHE BOOL "" FORCE)
set(LLAMA_BUILD_TESTS OFF CACHE BOOL "" FORCE)
set(LLAMA_BUILD_TOOLS OFF CACHE BOOL "" FORCE)
set(LLAMA_BUILD_EXAMPLES OFF CACHE BOOL "" FORCE)
set(LLAMA_BUILD_SERVER OFF CACHE BOOL "" FORCE)
set(LLAMA_BUILD_APP OFF CACHE BOOL "" FORCE)
set(LLAMA_OPENSSL OFF CACHE BOOL "" FORCE)
# GGML_BACKEND_DL and BUILD_SHARED_LIBS are set by the includer (CMakeLists.txt, cmake/backend-dl.cmake).
