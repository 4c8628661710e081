# The pattern every optional component of b2m follows (b2m::io, b2m::mpi, b2m::dnnl), written
# once. A component is described by one file, cmake/b2m<Name>.cmake, which finds the
# component's dependencies and then calls
#
#   b2m_add_optional_component(<name>
#     OPTION <variable> <help>   cache option; default ON when every REQUIRES variable is true.
#                                 It is also the macro the target defines (<variable>=1).
#     REQUIRES <variable>...     all true: the dependencies were found
#     [INCLUDE <dir>...]         SYSTEM include directories of the target
#     LINK <item>...             what the target links besides b2m::b2m
#     MISSING <text>             names the dependencies in the messages when they are missing
#     HINT <text>                how to install them, in the error when OPTION is ON without them
#     SUMMARY <text>)            the configure status line: "b2m: <SUMMARY> b2m::<name> ..."
#
# Building b2m (this file): with OPTION ON, the INTERFACE target b2m_<name>, alias
# b2m::<name>, export name <name>, linking b2m::b2m and LINK, defining <variable>=1; with
# B2M_INSTALL, its own export set b2m<Name>Targets.cmake and the description file itself,
# installed next to b2mConfig.cmake. The global property B2M_OPTIONAL_COMPONENTS lists the
# enabled components (b2mConfig.cmake.in records it).
# From the installed package: b2mConfig.cmake defines this command differently, and for
# find_package(b2m COMPONENTS <name>) includes the same description file, so the installed
# package looks for exactly the dependencies the build looked for.
include_guard(GLOBAL)

function(b2m_add_optional_component name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "MISSING;HINT;SUMMARY" "OPTION;REQUIRES;INCLUDE;LINK")
  list(LENGTH arg_OPTION _n)
  if(NOT _n EQUAL 2 OR NOT arg_REQUIRES OR NOT arg_LINK OR NOT arg_MISSING OR NOT arg_HINT OR NOT arg_SUMMARY
     OR arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "b2m_add_optional_component(${name}): needs OPTION <variable> <help>, "
                        "REQUIRES, LINK, MISSING, HINT and SUMMARY (unparsed: ${arg_UNPARSED_ARGUMENTS})")
  endif()
  list(GET arg_OPTION 0 _option)
  list(GET arg_OPTION 1 _help)
  set(_found ON)
  foreach(_v IN LISTS arg_REQUIRES)
    if(NOT ${_v})
      set(_found OFF)
    endif()
  endforeach()
  option(${_option} "${_help}" ${_found})
  if(NOT ${_option})
    message(STATUS "b2m: ${arg_SUMMARY} off (${_option}=OFF or ${arg_MISSING} not found)")
    return()
  endif()
  if(NOT _found)
    message(FATAL_ERROR "${_option} is ON but ${arg_MISSING} was not found (${arg_HINT})")
  endif()
  add_library(b2m_${name} INTERFACE)
  add_library(b2m::${name} ALIAS b2m_${name})
  set_target_properties(b2m_${name} PROPERTIES EXPORT_NAME ${name})
  if(arg_INCLUDE)
    target_include_directories(b2m_${name} SYSTEM INTERFACE ${arg_INCLUDE})
  endif()
  target_link_libraries(b2m_${name} INTERFACE b2m ${arg_LINK})
  target_compile_definitions(b2m_${name} INTERFACE ${_option}=1)
  set_property(GLOBAL APPEND PROPERTY B2M_OPTIONAL_COMPONENTS ${name})
  if(B2M_INSTALL)  # not when b2m is a consumer's subdirectory
    string(SUBSTRING "${name}" 0 1 _first)
    string(SUBSTRING "${name}" 1 -1 _rest)
    string(TOUPPER "${_first}" _first)
    install(TARGETS b2m_${name} EXPORT b2m${_first}${_rest}Targets)
    install(EXPORT b2m${_first}${_rest}Targets NAMESPACE b2m:: DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/b2m)
    install(FILES "${CMAKE_CURRENT_LIST_FILE}" DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/b2m)
  endif()
  message(STATUS "b2m: ${arg_SUMMARY} b2m::${name} enabled")
endfunction()
