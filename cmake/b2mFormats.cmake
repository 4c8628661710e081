# Optional component "formats" (target b2m::formats): file readers with dependencies beyond
# b2m's core. Today: MATLAB .mat files, v5 and v7.3, through matio (Debian: libmatio-dev,
# which reads v7.3 with libhdf5). b2m/io/mat.hpp needs it; the core headers never include it.
# b2m::formats defines B2M_HAVE_MATIO=1 when matio was found. The b2m program links it.
option(B2M_WITH_MATIO "Read MATLAB .mat files (b2m/io/mat.hpp, target b2m::formats) when matio is found" ON)
add_library(b2m_formats INTERFACE)
add_library(b2m::formats ALIAS b2m_formats)
target_link_libraries(b2m_formats INTERFACE b2m)
set(B2M_HAVE_MATIO OFF)
if(B2M_WITH_MATIO)
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(B2M_MATIO QUIET IMPORTED_TARGET matio)
  endif()
  find_package(ZLIB QUIET)  # b2m/io/mat_layout.hpp inflates v7 variables to check them before matio reads them
  if(B2M_MATIO_FOUND AND ZLIB_FOUND)
    target_link_libraries(b2m_formats INTERFACE PkgConfig::B2M_MATIO ZLIB::ZLIB)
    target_compile_definitions(b2m_formats INTERFACE B2M_HAVE_MATIO=1)
    set(B2M_HAVE_MATIO ON)
    message(STATUS "b2m: MATLAB .mat files (v5, v7.3) through matio ${B2M_MATIO_VERSION}")
  else()
    message(STATUS "b2m: matio or zlib not found: no .mat reading (apt-get install libmatio-dev zlib1g-dev)")
  endif()
endif()
