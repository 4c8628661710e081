# Installs b2m from the build tree B2M_BUILD into WORK/prefix, then configures, builds and
# runs tests/install_project against it with find_package(b2m).
file(REMOVE_RECURSE "${WORK}")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${B2M_BUILD}" --prefix "${WORK}/prefix"
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S "${B2M_SOURCE}/tests/install_project" -B "${WORK}/build"
                        -G "${GENERATOR}" -DCMAKE_PREFIX_PATH=${WORK}/prefix -DCMAKE_BUILD_TYPE=Release
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the outside project failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK}/build" RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the outside project failed (${rc})")
endif()
execute_process(COMMAND "${WORK}/build/outside" RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "the outside program failed (${rc})")
endif()
message(STATUS "outside project found b2m, built and ran")

# find_package(b2m COMPONENTS <the components the build enabled, comma-separated>) finds each
# (configure only: the outside project checks the targets b2m::<name>), and an unknown
# component fails the REQUIRED find.
foreach(_case IN ITEMS "${COMPONENTS}" "no_such_component")
  if(_case STREQUAL "")
    continue()
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -S "${B2M_SOURCE}/tests/install_project" -B "${WORK}/build_components"
                          -G "${GENERATOR}" -DCMAKE_PREFIX_PATH=${WORK}/prefix -DB2M_COMPONENTS=${_case}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
  file(REMOVE_RECURSE "${WORK}/build_components")
  if(_case STREQUAL "no_such_component")
    if(NOT rc)
      message(FATAL_ERROR "find_package(b2m REQUIRED COMPONENTS no_such_component) succeeded")
    endif()
  elseif(rc)
    message(FATAL_ERROR "find_package(b2m COMPONENTS ${_case}) failed (${rc}):\n${_out}\n${_err}")
  else()
    message(STATUS "find_package(b2m COMPONENTS ${_case}): found")
  endif()
endforeach()

# Where the OpenMP build of OpenBLAS is installed (Debian: libopenblas-openmp-dev), the
# outside program and the installed b2m program must load it, not the pthreads build that
# Debian's alternatives select for libopenblas.so.0 (two thread pools on the same cores).
file(GLOB _omp_blas "/usr/lib/*/openblas-openmp/libopenblas.so.0")
set(_binaries "${WORK}/build/outside")
if(EXISTS "${WORK}/prefix/bin/b2m")
  list(APPEND _binaries "${WORK}/prefix/bin/b2m")
endif()
if(_omp_blas)
  foreach(bin ${_binaries})
    execute_process(COMMAND ldd "${bin}" OUTPUT_VARIABLE _ldd RESULT_VARIABLE rc)
    string(REGEX MATCH "libopenblas[^\n]*=> *[^ \n]+" _line "${_ldd}")
    if(rc OR NOT _line)
      message(FATAL_ERROR "ldd ${bin}: no libopenblas found (${rc}):\n${_ldd}")
    endif()
    if(NOT _line MATCHES "openblas-openmp")
      message(FATAL_ERROR "${bin} loads the wrong OpenBLAS: ${_line} (expected the OpenMP build, ${_omp_blas})")
    endif()
    message(STATUS "ldd ${bin}: ${_line}")
  endforeach()
else()
  message(STATUS "the OpenMP build of OpenBLAS is not installed: ldd check not applicable")
endif()
