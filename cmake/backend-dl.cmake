# Dynamically loaded ggml backends (PERSONA_STEER_BACKEND_DL, included by CMakeLists.txt).
#
# Layout of the output folder (build/Release, and prebuilds/<platform>-<arch> made from it):
#   persona_steer.node                 the addon
#   libllama, libggml, libggml-base    shared libraries the addon links (RPATH $ORIGIN / @loader_path;
#                                      on Windows the DLLs sit beside the .node, which Node loads with
#                                      LOAD_WITH_ALTERED_SEARCH_PATH)
#   libggml-cpu[-<variant>]            CPU backend(s); ggml scores each against the CPU at run time
#   libggml-cuda / libggml-metal ...   other backends; one that cannot load (no driver) is skipped
# No versioned names or symlinks: npm packs neither.

set(BUILD_SHARED_LIBS ON CACHE BOOL "" FORCE)
set(GGML_BACKEND_DL ON CACHE BOOL "" FORCE)

# PERSONA_STEER_CPU_VARIANTS: "" = one portable CPU library, "all", or a list of variant names.
string(REPLACE "," ";" _ps_variants "${PERSONA_STEER_CPU_VARIANTS}")
string(STRIP "${_ps_variants}" _ps_variants)
if (_ps_variants STREQUAL "")
    set(GGML_CPU_ALL_VARIANTS OFF CACHE BOOL "" FORCE)
    set(GGML_CPU_VARIANTS "" CACHE STRING "" FORCE)
elseif (_ps_variants STREQUAL "all")
    set(GGML_CPU_ALL_VARIANTS ON CACHE BOOL "" FORCE)
    set(GGML_CPU_VARIANTS "" CACHE STRING "" FORCE)
else()
    # GGML_CPU_VARIANTS is read by vendor/patches/0002-cpu-variant-subset.patch.
    set(GGML_CPU_ALL_VARIANTS ON CACHE BOOL "" FORCE)
    set(GGML_CPU_VARIANTS "${_ps_variants}" CACHE STRING "" FORCE)
endif()

# Every shared library and backend module in one folder, the addon's: cmake-js sets the library
# folder on Linux and macOS and the runtime folder on Windows; llama.cpp's own CMakeLists points
# both at <build>/bin for its targets, which persona_steer_backend_dl_targets() undoes.
if (CMAKE_LIBRARY_OUTPUT_DIRECTORY)
    set(PERSONA_STEER_OUTPUT_DIR "${CMAKE_LIBRARY_OUTPUT_DIRECTORY}")
elseif (CMAKE_RUNTIME_OUTPUT_DIRECTORY)
    set(PERSONA_STEER_OUTPUT_DIR "${CMAKE_RUNTIME_OUTPUT_DIRECTORY}")
else()
    set(PERSONA_STEER_OUTPUT_DIR "${CMAKE_BINARY_DIR}/bin")
endif()
set(CMAKE_LIBRARY_OUTPUT_DIRECTORY "${PERSONA_STEER_OUTPUT_DIR}")
set(CMAKE_RUNTIME_OUTPUT_DIRECTORY "${PERSONA_STEER_OUTPUT_DIR}")

# The folder moves (build/Release -> prebuilds/... -> node_modules/... -> app.asar.unpacked/...):
# libraries find each other relative to themselves.
set(CMAKE_BUILD_RPATH_USE_ORIGIN ON)
if (APPLE)
    set(CMAKE_BUILD_RPATH "@loader_path")
    set(CMAKE_INSTALL_NAME_DIR "@rpath")
elseif (UNIX)
    set(CMAKE_BUILD_RPATH "$ORIGIN")
endif()
if (MSVC)
    # One C runtime shared by the addon and the ggml DLLs (memory crosses DLL boundaries).
    set(CMAKE_MSVC_RUNTIME_LIBRARY "MultiThreaded$<$<CONFIG:Debug>:Debug>DLL" CACHE STRING "" FORCE)
endif()

# Called after add_subdirectory(llama.cpp): every library in the addon's folder, under a plain file
# name (no version symlinks).
function(persona_steer_backend_dl_targets)
    foreach (t llama ggml ggml-base ${GGML_AVAILABLE_BACKENDS})
        if (TARGET ${t})
            set_target_properties(${t} PROPERTIES
                LIBRARY_OUTPUT_DIRECTORY "${PERSONA_STEER_OUTPUT_DIR}"
                RUNTIME_OUTPUT_DIRECTORY "${PERSONA_STEER_OUTPUT_DIR}")
            set_property(TARGET ${t} PROPERTY VERSION)
            set_property(TARGET ${t} PROPERTY SOVERSION)
        endif()
    endforeach()
    if (GGML_CPU_VARIANTS)
        foreach (v ${GGML_CPU_VARIANTS})
            if (NOT TARGET ggml-cpu-${v})
                message(FATAL_ERROR "PERSONA_STEER_CPU_VARIANTS: no CPU variant '${v}' for ${CMAKE_SYSTEM_PROCESSOR} (see ggml/src/CMakeLists.txt, GGML_CPU_ALL_VARIANTS)")
            endif()
        endforeach()
    endif()
endfunction()

