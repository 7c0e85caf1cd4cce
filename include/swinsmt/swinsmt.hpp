#pragma once
// Umbrella header: everything a user of the library needs.

#include <swinsmt/checkpoint.hpp>
#include <swinsmt/config_inference.hpp>
#include <swinsmt/error.hpp>
#include <swinsmt/load.hpp>
#include <swinsmt/options.hpp>
#include <swinsmt/safetensors.hpp>
#include <swinsmt/state_dict.hpp>
#include <swinsmt/swinsmt_model.hpp>
