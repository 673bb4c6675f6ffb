#pragma once
// glibc raises its mmap threshold to the size of the largest block freed so far (up to 32 MiB):
// after the first llama.cpp context is freed (its scheduler buffer is about 20 MB; Model.load's
// trial decode frees one), later context buffers come from malloc's heaps, which keep the memory
// after the context is gone. Pinning the threshold at glibc's default (128 KiB) keeps large
// buffers in their own mappings, returned to the system when freed. A MALLOC_MMAP_THRESHOLD_
// set by the user wins. Elsewhere (macOS, Windows, musl) nothing to do.
namespace ps {
void pin_mmap_threshold();
}  // namespace ps
