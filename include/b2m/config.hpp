// b2m/config.hpp - version (single source of truth, read by CMake and Conan) and feature macros.
#pragma once

#define B2M_VERSION_MAJOR 0
#define B2M_VERSION_MINOR 1
#define B2M_VERSION_PATCH 0

#define B2M_STRINGIFY_DETAIL(x) #x
#define B2M_STRINGIFY(x) B2M_STRINGIFY_DETAIL(x)
#define B2M_VERSION_STRING                                                                         \
    B2M_STRINGIFY(B2M_VERSION_MAJOR) "." B2M_STRINGIFY(B2M_VERSION_MINOR) "." B2M_STRINGIFY(       \
        B2M_VERSION_PATCH)

// B2M_HAS_OPENMP is 1 when compiled with OpenMP (-fopenmp); kernels then run in parallel.
#if defined(_OPENMP)
#define B2M_HAS_OPENMP 1
#else
#define B2M_HAS_OPENMP 0
#endif

namespace b2m {
inline constexpr int version_major = B2M_VERSION_MAJOR;
inline constexpr int version_minor = B2M_VERSION_MINOR;
inline constexpr int version_patch = B2M_VERSION_PATCH;
inline constexpr const char* version_string = B2M_VERSION_STRING;
} // namespace b2m
