# The optional oneDNN component: target b2m::dnnl, linking oneDNN (libdnnl) and defining
# B2M_WITH_DNNL=1, with which float nn::conv2d layers can opt in to oneDNN's convolution
# primitives (include/b2m/nn/conv2d_dnnl.hpp; set_backend(conv_backend::dnnl or ::automatic);
# the default stays im2col + GEMM, allocation-free). The core target b2m::b2m never links
# oneDNN. Link b2m::dnnl to
# every target of a program that includes b2m's nn headers (the macro changes
# nn::conv2d_layer's layout). find_package(b2m COMPONENTS dnnl) loads it from an install.
# The pattern (option, target, install, package loading): cmake/b2mComponent.cmake.
# Not oneDNN's own package file: Debian's (2.6.3) requires the OpenCL headers (its GPU
# runtime) even for CPU use. The header and the library in the default paths suffice; an
# installed b2m::dnnl links the library by name.
find_path(B2M_DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp)
find_library(B2M_DNNL_LIBRARY dnnl)
b2m_add_optional_component(dnnl
  OPTION B2M_WITH_DNNL "Build the oneDNN component b2m::dnnl (conv2d on oneDNN's primitives)"
  REQUIRES B2M_DNNL_INCLUDE_DIR B2M_DNNL_LIBRARY
  INCLUDE $<BUILD_INTERFACE:${B2M_DNNL_INCLUDE_DIR}>
  LINK $<BUILD_INTERFACE:${B2M_DNNL_LIBRARY}> $<INSTALL_INTERFACE:dnnl>
  MISSING "oneDNN"
  HINT "Debian: apt-get install libdnnl-dev"
  SUMMARY "oneDNN component")
