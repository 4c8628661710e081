# The API reference (target `docs`, Doxygen from Debian's `doxygen`): HTML in build/docs/html
# from the header contracts, with the README as main page and the examples as compiled
# examples. The ctest `docs_undocumented_names` (label docs) counts the public names Doxygen
# finds undocumented and fails when the count exceeds docs/undocumented_names.txt, the
# recorded debt: it can only go down (lower the number in the file when you document names).
find_package(Doxygen QUIET)
if(DOXYGEN_FOUND)
  set(B2M_DOCS_OUTPUT "${PROJECT_BINARY_DIR}/docs")
  configure_file("${PROJECT_SOURCE_DIR}/docs/Doxyfile.in" "${B2M_DOCS_OUTPUT}/Doxyfile" @ONLY)
  add_custom_target(docs
    COMMAND "${DOXYGEN_EXECUTABLE}" "${B2M_DOCS_OUTPUT}/Doxyfile"
    WORKING_DIRECTORY "${B2M_DOCS_OUTPUT}"
    COMMENT "b2m: API reference in ${B2M_DOCS_OUTPUT}/html/index.html"
    VERBATIM)
else()
  message(STATUS "b2m: doxygen not found: no `docs` target (apt-get install doxygen)")
endif()
