# The optional oneDNN component: target b2m::dnnl, linking oneDNN (libdnnl) and defining
# B2M_WITH_DNNL=1, with which nn::conv2d runs its float layers on oneDNN's convolution
# primitives (include/b2m/nn/conv2d_dnnl.hpp). The core target b2m::b2m never links oneDNN;
# without the macro nn::conv2d is the im2col + GEMM path. Link b2m::dnnl to every target of
# a program that includes b2m's nn headers (the macro changes nn::conv2d_layer's layout).
# Installed as its own export set (b2mDnnlTargets.cmake), loaded by find_package(b2m
# COMPONENTS dnnl).
# Not oneDNN's own package file: Debian's (2.6.3) requires the OpenCL headers (its GPU
# runtime) even for CPU use. The header and the library in the default paths suffice.
find_path(B2M_DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp)
find_library(B2M_DNNL_LIBRARY dnnl)
if(B2M_DNNL_INCLUDE_DIR AND B2M_DNNL_LIBRARY)
  set(_b2m_dnnl_default ON)
else()
  set(_b2m_dnnl_default OFF)
endif()
option(B2M_WITH_DNNL "Build the oneDNN component b2m::dnnl (conv2d on oneDNN's primitives)" ${_b2m_dnnl_default})
if(B2M_WITH_DNNL)
  if(NOT _b2m_dnnl_default)
    message(FATAL_ERROR "B2M_WITH_DNNL is ON but oneDNN was not found (Debian: apt-get install libdnnl-dev)")
  endif()
  add_library(b2m_dnnl INTERFACE)
  add_library(b2m::dnnl ALIAS b2m_dnnl)
  set_target_properties(b2m_dnnl PROPERTIES EXPORT_NAME dnnl)
  target_include_directories(b2m_dnnl SYSTEM INTERFACE $<BUILD_INTERFACE:${B2M_DNNL_INCLUDE_DIR}>)
  target_link_libraries(b2m_dnnl INTERFACE b2m $<BUILD_INTERFACE:${B2M_DNNL_LIBRARY}> $<INSTALL_INTERFACE:dnnl>)
  target_compile_definitions(b2m_dnnl INTERFACE B2M_WITH_DNNL=1)
  if(B2M_INSTALL)  # not when b2m is a consumer's subdirectory
    install(TARGETS b2m_dnnl EXPORT b2mDnnlTargets)
    install(EXPORT b2mDnnlTargets NAMESPACE b2m:: DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/b2m)
  endif()
  message(STATUS "b2m: oneDNN component b2m::dnnl enabled (${B2M_DNNL_LIBRARY})")
else()
  message(STATUS "b2m: oneDNN component off (B2M_WITH_DNNL=OFF or oneDNN not found)")
endif()
