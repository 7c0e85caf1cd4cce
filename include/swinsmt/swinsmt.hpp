#pragma once
// Umbrella header: everything a user of the library needs.

#include <swinsmt/checkpoint.hpp>
#include <swinsmt/config_inference.hpp>
#include <swinsmt/cpu_buffer_pool.hpp>
#include <swinsmt/error.hpp>
#include <swinsmt/io/dicom.hpp>
#include <swinsmt/io/nifti.hpp>
#include <swinsmt/io/volume.hpp>
#include <swinsmt/labels.hpp>
#include <swinsmt/load.hpp>
#include <swinsmt/options.hpp>
#include <swinsmt/preprocess.hpp>
#include <swinsmt/preview.hpp>
#include <swinsmt/safetensors.hpp>
#include <swinsmt/segment.hpp>
#include <swinsmt/sliding_window.hpp>
#include <swinsmt/state_dict.hpp>
#include <swinsmt/statistics.hpp>
#include <swinsmt/swinsmt_model.hpp>
