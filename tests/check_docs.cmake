# ctest docs_undocumented_names: runs Doxygen on the headers and compares the number of public
# names it reports undocumented with the recorded debt (docs/undocumented_names.txt).
# Usage: cmake -DDOXYGEN=... -DDOXYFILE=... -DOUTPUT=... -DBASELINE=... -P check_docs.cmake
file(REMOVE "${OUTPUT}/warnings.log")
execute_process(COMMAND "${DOXYGEN}" "${DOXYFILE}" WORKING_DIRECTORY "${OUTPUT}" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "doxygen failed (exit ${rc})")
endif()
file(STRINGS "${OUTPUT}/warnings.log" undocumented REGEX "is not documented")
list(LENGTH undocumented count)
file(STRINGS "${BASELINE}" baseline REGEX "^[0-9]+$")
file(STRINGS "${OUTPUT}/warnings.log" other REGEX "warning:")
list(LENGTH other all_warnings)
math(EXPR other_count "${all_warnings} - ${count}")
message(STATUS "undocumented public names: ${count} (recorded debt ${baseline}); other Doxygen warnings: ${other_count}")
if(count GREATER baseline)
  list(SUBLIST undocumented 0 20 first)
  string(REPLACE ";" "\n" first "${first}")
  message(FATAL_ERROR "${count} undocumented public names, more than the recorded ${baseline}: document the new ones "
                      "(a /// comment stating the contract). The first ones:\n${first}")
endif()
