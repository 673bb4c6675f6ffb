#include "weight-types.h"

#include "backend.h"
#include "ggml-cpu.h"
#include "ggml.h"
#include "gguf.h"

#include <memory>

namespace ps {

namespace {
std::string check(gguf_context * raw) {
    std::unique_ptr<gguf_context, void (*)(gguf_context *)> g(raw, gguf_free);
    if (!g) return "";
    for (int64_t i = 0; i < gguf_get_n_tensors(g.get()); i++) {
        const ggml_type type = gguf_get_tensor_type(g.get(), i);
        // F64 has no CPU kernel at all; other types must at least have a matrix product
        // cpu_type_traits: the CPU library's own table, also in a dynamically loaded build
        const ggml_type_traits_cpu * traits = cpu_type_traits(type);
        if (type == GGML_TYPE_F64 || (traits != nullptr && traits->vec_dot == nullptr)) {
            return std::string("tensor ") + gguf_get_tensor_name(g.get(), i) + " has type " + ggml_type_name(type) +
                   ", which llama.cpp's CPU backend cannot multiply (the model would crash at its first decode)";
        }
    }
    return "";
}
}  // namespace

std::string unsupported_weight_type(const std::string & path) {
    gguf_init_params params = { /*no_alloc =*/ true, /*ctx =*/ nullptr };
    return check(gguf_init_from_file(path.c_str(), params));
}

std::string unsupported_weight_type(FILE * fp) {
    gguf_init_params params = { /*no_alloc =*/ true, /*ctx =*/ nullptr };
    std::fseek(fp, 0, SEEK_SET);
    std::string why = check(gguf_init_from_file_ptr(fp, params));
    std::fseek(fp, 0, SEEK_SET);
    return why;
}

}  // namespace ps
