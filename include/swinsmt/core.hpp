#pragma once
// Umbrella header of swinsmt::core (LibTorch alone): the network, its CPU switches and checkpoints.
// Link swinsmt::core and include this to embed the model without any image I/O library.

#include <swinsmt/error.hpp>

#include <swinsmt/nn/options.hpp>
#include <swinsmt/nn/swinsmt_model.hpp>

#include <swinsmt/kernels/cpu_buffer_pool.hpp>
#include <swinsmt/kernels/runtime_info.hpp>

#include <swinsmt/checkpoint/checkpoint.hpp>
#include <swinsmt/checkpoint/config_inference.hpp>
#include <swinsmt/checkpoint/load.hpp>
#include <swinsmt/checkpoint/safetensors.hpp>
#include <swinsmt/checkpoint/state_dict.hpp>
