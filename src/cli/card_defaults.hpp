#pragma once
// `swinsmt segment` and the model card: which card a run uses (--card FILE, else the one in the
// weights, else none), and the settings it gives wherever no flag was given.

#include <swinsmt/checkpoint/model_card.hpp>
#include <swinsmt/pipeline/labels.hpp>
#include <swinsmt/pipeline/segment.hpp>

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

namespace swinsmt::cli {

/// The card of a run: `card_path`'s when given (checked against the tensors when they are loaded),
/// else the one embedded in `weights` (safetensors metadata; only the header is read), else nullopt.
std::optional<ModelCard> model_card_for(const std::string& weights, const std::string& card_path);

/// `from_flags` with the card's settings for every setting whose flag (--spacing, --hu-window, --roi,
/// --overlap, --blend) was not given on `command`. Prints once to stderr where the defaults came
/// from: "from card: spacing 1.5 x 1.5 x 2.0 mm, HU -175..250, roi 96", or without a card a
/// one-line notice that the built-in TotalSegmentator defaults apply.
SegmentOptions apply_model_card(const std::optional<ModelCard>& card, SegmentOptions from_flags,
                                const CLI::App& command, const std::string& weights);

/// The structure names of a run: the card's, else the built-in TotalSegmentator-v2 table.
LabelTable run_label_names(const std::optional<ModelCard>& card);

/// What of the card decides the outputs besides the segment options (the label table: names, codes
/// and colours; and the intensity output range, clip and back-to-input mode), for the rerun key of
/// finished cases.
std::string card_run_key(const std::optional<ModelCard>& card, const SegmentOptions& options);

}  // namespace swinsmt::cli
