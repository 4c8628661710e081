# Configures, builds and runs tests/subdir_project (b2m through add_subdirectory), then
# checks that a `cmake --install` of the consumer installs the consumer only: no b2m
# headers, no b2m CMake package.
file(REMOVE_RECURSE "${WORK}")
execute_process(COMMAND ${CMAKE_COMMAND} -S "${B2M_SOURCE}/tests/subdir_project" -B "${WORK}/build" -G "${GENERATOR}"
                        -DB2M_SOURCE=${B2M_SOURCE}
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the add_subdirectory consumer failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK}/build" --target consumer RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the add_subdirectory consumer failed (${rc})")
endif()
execute_process(COMMAND "${WORK}/build/consumer" RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "the add_subdirectory consumer failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --install "${WORK}/build" --prefix "${WORK}/prefix" RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "installing the add_subdirectory consumer failed (${rc})")
endif()
file(GLOB_RECURSE _installed RELATIVE "${WORK}/prefix" "${WORK}/prefix/*")
if(NOT _installed STREQUAL "bin/consumer")
  message(FATAL_ERROR "installing the consumer also installed b2m's files: ${_installed}")
endif()
message(STATUS "add_subdirectory consumer: built, ran, installed only itself")
