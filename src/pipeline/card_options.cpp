#include <swinsmt/pipeline/card_options.hpp>

namespace swinsmt {

SegmentOptions segment_options(const ModelCard& card, SegmentOptions base) {
  // The card's orientation is always RAS (parse_model_card refuses others), as the pipeline's is.
  base.spacing = card.spacing ? c10::optional<std::array<double, 3>>(*card.spacing) : c10::nullopt;
  base.hu_min = card.intensity.a_min;
  base.hu_max = card.intensity.a_max;
  base.out_min = card.intensity.b_min;
  base.out_max = card.intensity.b_max;
  base.clip = card.intensity.clip;
  base.roi_size.assign(card.roi.begin(), card.roi.end());
  base.overlap = card.overlap;
  base.blend = parse_blend_mode(card.blending);
  base.back_to_input = card.back_to_input;
  return base;
}

}  // namespace swinsmt
