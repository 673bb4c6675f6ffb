#pragma once
// The model pre-flight check: reads a GGUF file's metadata (gguf.cpp, no tensor data) before
// llama_model_load_from_file and refuses values that llama.cpp would not reject with an error of
// its own but with an assertion that stops the process, during the load or at the first decode.
// Each rule names the key, the value found and the value expected. What gguf.cpp itself refuses is
// left to llama.cpp, whose message then explains it. docs/errors.md lists the rules.
#include <cstdio>
#include <string>

namespace ps {

struct PreflightResult {
    // "" when nothing is wrong.
    std::string error;
    // The file is the first of several (split.count > 1): llama.cpp must open the others by name.
    bool split = false;
};

// Reads from `fp` (rewound to 0 afterwards). mmap: tensor data will be used in place, so it must
// be aligned as ggml's CPU buffers require.
PreflightResult preflight_model(FILE * fp, bool use_mmap, bool vocab_only);

}  // namespace ps
