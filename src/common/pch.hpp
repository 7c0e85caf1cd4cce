// Precompiled header shared by the library, tests, tools and examples: the narrow LibTorch headers
// every translation unit needs (never <torch/torch.h>, which pulls in optimizers, data loaders, JIT).
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/ordered_dict.h>

#include <map>
#include <string>
#include <vector>
