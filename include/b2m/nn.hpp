// b2m/nn.hpp - student layers and their composition.
#pragma once

#include "b2m/nn/activation.hpp"
#include "b2m/nn/batch_norm.hpp"
#include "b2m/nn/conv2d.hpp"
#include "b2m/nn/conv_transpose2d.hpp"
#include "b2m/nn/flatten.hpp"
#include "b2m/nn/image.hpp"
#include "b2m/nn/pool.hpp"
#include "b2m/nn/vae.hpp"
#include "b2m/nn/dense.hpp"
#include "b2m/nn/dropout.hpp"
#include "b2m/nn/layer.hpp"
#include "b2m/nn/layer_norm.hpp"
#include "b2m/nn/sequential.hpp"
#include "b2m/nn/tap.hpp"
