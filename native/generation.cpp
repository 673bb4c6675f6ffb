#include "generation.h"

namespace ps {

std::string token_piece(const llama_vocab * vocab, llama_token token, bool special) {
    char buf[128];
    int32_t n = llama_token_to_piece(vocab, token, buf, sizeof(buf), 0, special);
    if (n >= 0) return std::string(buf, (size_t) n);
    std::string big((size_t) -n, '\0');
    n = llama_token_to_piece(vocab, token, big.data(), (int32_t) big.size(), 0, special);
    big.resize(n > 0 ? (size_t) n : 0);
    return big;
}

}  // namespace ps
