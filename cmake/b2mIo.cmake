# The optional weight I/O component: target b2m::io (headers include/b2m/io: .npz and
# .safetensors files, PyTorch state_dicts), linking ZLIB::ZLIB (deflate members) and
# nlohmann_json (safetensors headers). The core target b2m::b2m links neither; only code
# that includes b2m/io/*.hpp needs them. Installed as its own export set
# (b2mIoTargets.cmake), loaded by find_package(b2m COMPONENTS io).
find_package(ZLIB QUIET)
find_package(nlohmann_json 3 QUIET)
if(ZLIB_FOUND AND nlohmann_json_FOUND)
  set(_b2m_io_default ON)
else()
  set(_b2m_io_default OFF)
endif()
option(B2M_WITH_IO "Build the weight I/O component b2m::io (zlib + nlohmann-json)" ${_b2m_io_default})
if(B2M_WITH_IO)
  if(NOT ZLIB_FOUND OR NOT nlohmann_json_FOUND)
    message(FATAL_ERROR "B2M_WITH_IO is ON but zlib or nlohmann-json was not found "
                        "(Debian: apt-get install zlib1g-dev nlohmann-json3-dev)")
  endif()
  add_library(b2m_io INTERFACE)
  add_library(b2m::io ALIAS b2m_io)
  set_target_properties(b2m_io PROPERTIES EXPORT_NAME io)
  target_link_libraries(b2m_io INTERFACE b2m ZLIB::ZLIB nlohmann_json::nlohmann_json)
  target_compile_definitions(b2m_io INTERFACE B2M_WITH_IO=1)
  if(B2M_INSTALL)  # not when b2m is a consumer's subdirectory
    install(TARGETS b2m_io EXPORT b2mIoTargets)
    install(EXPORT b2mIoTargets NAMESPACE b2m:: DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/b2m)
  endif()
  message(STATUS "b2m: weight I/O component b2m::io enabled")
else()
  message(STATUS "b2m: weight I/O component off (B2M_WITH_IO=OFF or zlib / nlohmann-json not found)")
endif()
