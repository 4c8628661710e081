// b2m/brain.hpp - neural data I/O, preprocessing, ridge encoding, metrics, RSA, CKA, BTL.
#pragma once

#include "b2m/brain/btl.hpp"
#include "b2m/brain/cka.hpp"
#include "b2m/brain/dataset.hpp"
#include "b2m/brain/delays.hpp"
#include "b2m/brain/linalg.hpp"
#include "b2m/brain/logistic.hpp"
#include "b2m/brain/metrics.hpp"
#include "b2m/brain/npy.hpp"
#include "b2m/brain/pca.hpp"
#include "b2m/brain/repeats.hpp"
#include "b2m/brain/ridge.hpp"
#include "b2m/brain/rsa.hpp"
#include "b2m/brain/stimulus_ids.hpp"
#include "b2m/brain/zscore.hpp"
