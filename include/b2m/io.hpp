// b2m/io.hpp - the weight I/O component (target b2m::io; needs zlib and nlohmann-json):
// .npz and .safetensors files and PyTorch state_dicts. Not included by b2m.hpp.
#pragma once

#include "b2m/io/array.hpp"
#include "b2m/io/npz.hpp"
#include "b2m/io/safetensors.hpp"
#include "b2m/io/state_dict.hpp"
#include "b2m/io/zip.hpp"
