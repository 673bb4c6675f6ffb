#pragma once
// The test programs and the dynamically loaded build (PERSONA_STEER_BACKEND_DL, the default): the
// backend libraries sit beside the addon (build/Release), which scripts/run-tests.mjs passes as
// PERSONA_STEER_BACKEND_DIR; without it, ggml's default search (the program's folder, the working
// directory). A static build has its backends linked in and loads nothing.
#include "ggml-backend.h"

#include <cstdio>
#include <cstdlib>

inline bool load_test_backends() {
#ifdef GGML_BACKEND_DL
    const char * dir = std::getenv("PERSONA_STEER_BACKEND_DIR");
    ggml_backend_load_all_from_path(dir && *dir ? dir : nullptr);
    if (ggml_backend_dev_count() == 0) {
        std::printf("not ok 1 - no ggml backend loaded from %s\n", dir && *dir ? dir : "(default search path)");
        return false;
    }
#endif
    return true;
}
