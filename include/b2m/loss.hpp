// b2m/loss.hpp - task losses, brain objectives and their composition.
#pragma once

#include "b2m/loss/binary_cross_entropy.hpp"
#include "b2m/loss/brain_reduction.hpp"
#include "b2m/loss/cka_loss.hpp"
#include "b2m/loss/contrastive.hpp"
#include "b2m/loss/cross_entropy.hpp"
#include "b2m/loss/encoding_alignment.hpp"
#include "b2m/loss/expression.hpp"
#include "b2m/loss/kl_normal.hpp"
#include "b2m/loss/latent.hpp"
#include "b2m/loss/linear_head.hpp"
#include "b2m/loss/mse.hpp"
#include "b2m/loss/objective.hpp"
#include "b2m/loss/rdm_target.hpp"
#include "b2m/loss/row_normalize.hpp"
#include "b2m/loss/rsa_loss.hpp"
#include "b2m/loss/source.hpp"
