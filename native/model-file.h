#pragma once
// Opens a model file the way llama.cpp will read it, without ever blocking: a FIFO, a device or
// a directory given as a model path (or swapped in for the file while a load is queued) is
// refused instead of leaving the load thread waiting for a writer that never comes.
#include <cstdint>
#include <cstdio>
#include <string>

namespace ps {

struct ModelFile {
    FILE * fp = nullptr;
    uint64_t size = 0;
    ModelFile() = default;
    ModelFile(const ModelFile &) = delete;
    ModelFile & operator=(const ModelFile &) = delete;
    ~ModelFile() { if (fp) std::fclose(fp); }
};

// "" on success (out.fp open for reading at offset 0), otherwise why the path cannot be a model.
std::string open_model_file(const std::string & path, ModelFile & out);

}  // namespace ps
