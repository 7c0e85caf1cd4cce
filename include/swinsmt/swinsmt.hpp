#pragma once
// Umbrella header of swinsmt::swinsmt: the core (network, checkpoints) plus image I/O and the
// segmentation pipeline — everything a user of the library needs.

#include <swinsmt/core.hpp>

#include <swinsmt/io/dicom.hpp>
#include <swinsmt/io/nifti.hpp>
#include <swinsmt/io/volume.hpp>

#include <swinsmt/pipeline/body_crop.hpp>
#include <swinsmt/pipeline/labels.hpp>
#include <swinsmt/pipeline/preprocess.hpp>
#include <swinsmt/pipeline/preview.hpp>
#include <swinsmt/pipeline/segment.hpp>
#include <swinsmt/pipeline/segmentation_writer.hpp>
#include <swinsmt/pipeline/sliding_window.hpp>
#include <swinsmt/pipeline/spacing.hpp>
#include <swinsmt/pipeline/statistics.hpp>
