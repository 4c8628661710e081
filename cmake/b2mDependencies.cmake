# Finds what b2m's headers need; shared by the build and by the installed b2mConfig.cmake.
include(CMakeFindDependencyMacro)
# BLA_VENDOR is set only while b2m looks for BLAS, then restored: find_package(b2m) runs in
# the consumer's scope and must not change the consumer's BLAS choice.
set(_b2m_set_bla_vendor FALSE)
if(NOT DEFINED BLA_VENDOR)
  set(BLA_VENDOR OpenBLAS)
  set(_b2m_set_bla_vendor TRUE)
endif()
find_dependency(xtl)
find_dependency(xtensor)
# Prefer the OpenMP build of OpenBLAS where it is installed (Debian: libopenblas-openmp-dev).
# b2m's kernels use OpenMP; with the pthreads build, OpenBLAS's threads and OpenMP's threads
# are two pools spinning on the same cores (measured: B2M-MLP at 2 threads ran at 40% of its
# 1-thread speed; with the OpenMP build, 2 threads are 1.3x faster than 1). Both builds have
# the soname libopenblas.so.0; the build-tree RPATH CMake adds for this directory selects it.
set(_b2m_saved_library_path "${CMAKE_LIBRARY_PATH}")
if(EXISTS "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp")
  list(PREPEND CMAKE_LIBRARY_PATH "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp")
endif()
find_dependency(BLAS)
find_dependency(LAPACK)
find_dependency(xtensor-blas)
set(CMAKE_LIBRARY_PATH "${_b2m_saved_library_path}")
if(_b2m_set_bla_vendor)
  unset(BLA_VENDOR)
endif()
find_dependency(OpenMP COMPONENTS CXX)
find_dependency(Boost 1.71 CONFIG COMPONENTS headers)

