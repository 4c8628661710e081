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
