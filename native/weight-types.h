#pragma once
// Weight types llama.cpp loads but cannot compute with: the CPU backend (where every op can fall
// back to) has no matrix product for F64 or the integer types, and llama.cpp does not check, so
// such a file loads and then crashes the process at the first decode.
#include <cstdio>
#include <string>

namespace ps {

// Reads the GGUF header at `path` (no tensor data). Returns why the model cannot run, naming the
// first offending tensor and its type, or an empty string when every weight type is usable or
// the header cannot be read (llama.cpp then reports its own error).
std::string unsupported_weight_type(const std::string & path);
// The same from an open file (read from its start; rewound to 0 afterwards).
std::string unsupported_weight_type(FILE * fp);

}  // namespace ps
