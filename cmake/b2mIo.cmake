# The optional weight I/O component: target b2m::io (headers include/b2m/io: .npz and
# .safetensors files, PyTorch state_dicts), linking ZLIB::ZLIB (deflate members) and
# nlohmann_json (safetensors headers). The core target b2m::b2m links neither; only code
# that includes b2m/io/*.hpp needs them. find_package(b2m COMPONENTS io) loads it from an
# install. The pattern (option, target, install, package loading): cmake/b2mComponent.cmake.
find_package(ZLIB QUIET)
find_package(nlohmann_json 3 QUIET)
b2m_add_optional_component(io
  OPTION B2M_WITH_IO "Build the weight I/O component b2m::io (zlib + nlohmann-json)"
  REQUIRES ZLIB_FOUND nlohmann_json_FOUND
  LINK ZLIB::ZLIB nlohmann_json::nlohmann_json
  MISSING "zlib or nlohmann-json"
  HINT "Debian: apt-get install zlib1g-dev nlohmann-json3-dev"
  SUMMARY "weight I/O component")
