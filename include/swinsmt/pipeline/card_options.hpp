#pragma once
// A model card's preprocessing and inference settings as segmentation options, so that
// Segmenter(load(path), segment_options(*card)) runs a model the way its card says.

#include <swinsmt/checkpoint/model_card.hpp>
#include <swinsmt/pipeline/segment.hpp>

namespace swinsmt {

/// `base` with the card's spacing, intensity transform (a_min/a_max -> hu_min/hu_max, b_min/b_max
/// -> out_min/out_max, clip), roi, overlap, blending and back-to-input mode; the other options
/// (batch size, device, memory, crop) stay as in `base`.
SegmentOptions segment_options(const ModelCard& card, SegmentOptions base = {});

}  // namespace swinsmt
