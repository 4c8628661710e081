// b2m/models.hpp - the ready-made students (CORnet-Z, AlexNet-style, SoundNet-8, the B2M
// decision GRU, the B2M conv VAE), each with a PyTorch twin in
// tests/fixtures/make_interop_fixtures.py.
#pragma once

#include "b2m/models/alexnet.hpp"
#include "b2m/models/conv_vae.hpp"
#include "b2m/models/cornet_z.hpp"
#include "b2m/models/decision_gru.hpp"
#include "b2m/models/soundnet.hpp"
