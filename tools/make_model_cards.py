#!/usr/bin/env python3
"""Writes the model cards shipped in weights/ (schema: docs/model-card.md).

  weights/swinsmt_totalsegmentator.card.json  the official Swin SMT TotalSegmentator configuration:
      118 channels (background + the 117 structures of data/totalseg_v2_labels.json), v2 blocks and
      Soft MoE, "merging", normalize; 1.5 mm, HU -1024..1024 -> 0..1 clipped, roi 128, overlap 0.5,
      gaussian, labels back by nearest neighbour (swinsmt segment's built-in defaults).
  weights/swinsmt_f12_random.card.json  the same for the bundled random example weights, with the
      settings of the example and its reference labels (native spacing, roi 64).
  weights/btcv_swinunetr.card.json  MONAI's BTCV Swin UNETR bundle (Project-MONAI/model-zoo
      models/swin_unetr_btcv_segmentation, configs/inference.json): 14 channels (background + 13
      organs), 1.5 x 1.5 x 2.0 mm, HU -175..250 -> 0..1 clipped, roi 96, overlap 0.5, constant
      blending, softmax probabilities back linearly (Invertd nearest_interp=False), then argmax.

Every label whose name is one of the 117 TotalSegmentator structures gets the DICOM codes and the
colour of swinsmt's table, read from its one source, src/io/structure_codes.cpp (kRows, and
laterality_code for the Left/Right modifier): "type", "category", "modifier" (the laterality),
"region" (the kidney cysts' organ) and "color". The test ModelCard.ShippedCardsCarryTheTableCodes
checks that the shipped cards equal that table, so run this again after changing it.

Usage: python3 tools/make_model_cards.py   (from the repository root)
"""
import json
import re

CODES_SOURCE = "src/io/structure_codes.cpp"

SCHEMA = {"schema": "swinsmt-model-card", "version": 1}


def read_structure_codes():
    """name -> the label entry's codes and colour, parsed from the C++ table (the one source)."""
    with open(CODES_SOURCE) as f:
        text = f.read()
    laterality = {}
    for word, code, meaning in re.findall(
            r'if \(laterality == "(\w+)"\) return \{"(\d+)", "SCT", "([^"]*)"\};', text):
        laterality[word] = {"code": code, "scheme": "SCT", "meaning": meaning}
    if set(laterality) != {"Left", "Right"}:
        raise SystemExit(f"{CODES_SOURCE}: expected laterality_code for Left and Right, found {sorted(laterality)}")
    row = re.compile(r'^    \{"([^"]+)", "(\d+)", "([^"]*)", "(\d+)", "([^"]*)", "(\w*)", "(\d*)", "([^"]*)", '
                     r'\{(\d+), (\d+), (\d+)\}\},$', re.M)
    codes = {}
    for (name, category, category_meaning, type_, type_meaning, side, region, region_meaning,
         r, g, b) in row.findall(text):
        entry = {"type": {"code": type_, "scheme": "SCT", "meaning": type_meaning},
                 "category": {"code": category, "scheme": "SCT", "meaning": category_meaning}}
        if side:
            entry["modifier"] = laterality[side]
        if region:
            entry["region"] = {"code": region, "scheme": "SCT", "meaning": region_meaning}
        entry["color"] = [int(r), int(g), int(b)]
        codes[name] = entry
    rows = len(re.findall(r'^    \{"', text, re.M))
    if len(codes) != rows:
        raise SystemExit(f"{CODES_SOURCE}: parsed {len(codes)} of its {rows} rows; update the pattern")
    return codes


STRUCTURE_CODES = read_structure_codes()


def labels(names):
    return [{"value": i + 1, "name": n, **STRUCTURE_CODES.get(n, {})} for i, n in enumerate(names)]


def write(path, card):
    # Indented, except one line per label: 117 labels with codes stay readable and diffable.
    text = json.dumps({**card, "labels": "@LABELS@"}, indent=2)
    rows = ",\n".join("    " + json.dumps(label) for label in card["labels"])
    text = text.replace('"@LABELS@"', "[\n" + rows + "\n  ]")
    with open(path, "w") as f:
        f.write(text + "\n")
    print(f"wrote {path}: {len(card['labels'])} labels")


def totalsegmentator(name, spacing, roi, training_data):
    with open("data/totalseg_v2_labels.json") as f:
        table = json.load(f)
    names = [table[str(i)] for i in range(1, len(table) + 1)]
    return {
        **SCHEMA,
        "name": name,
        "network": {"merging": "merging", "normalize": True, "out_channels": len(names) + 1, "in_channels": 1,
                    "use_v2": True, "use_moe": True},
        "preprocessing": {"orientation": "RAS", "spacing": spacing,
                          "intensity": {"a_min": -1024, "a_max": 1024, "b_min": 0.0, "b_max": 1.0, "clip": True}},
        "inference": {"roi": roi, "overlap": 0.5, "blending": "gaussian", "back_to_input": "labels_nearest"},
        "labels": labels(names),
        "provenance": {"training_data": training_data, "licence": ""},
    }


write("weights/swinsmt_totalsegmentator.card.json",
      totalsegmentator("Swin SMT, TotalSegmentator v2 (117 structures)", [1.5, 1.5, 1.5], [128, 128, 128],
                       "TotalSegmentator v2 (117 structures)"))
write("weights/swinsmt_f12_random.card.json",
      totalsegmentator("Swin SMT feature 12, random weights (bundled example, not trained)", "native", [64, 64, 64],
                       "none (random weights, tools/make_example_weights.py)"))
write("weights/btcv_swinunetr.card.json", {
    **SCHEMA,
    "name": "MONAI Swin UNETR BTCV (model-zoo swin_unetr_btcv_segmentation)",
    "network": {"merging": "merging", "normalize": True, "out_channels": 14, "in_channels": 1, "use_v2": False,
                "use_moe": False},
    "preprocessing": {"orientation": "RAS", "spacing": [1.5, 1.5, 2.0],
                      "intensity": {"a_min": -175, "a_max": 250, "b_min": 0.0, "b_max": 1.0, "clip": True}},
    "inference": {"roi": [96, 96, 96], "overlap": 0.5, "blending": "constant",
                  "back_to_input": "probabilities_linear"},
    "labels": labels(["spleen", "kidney_right", "kidney_left", "gallbladder", "esophagus", "liver", "stomach",
                      "aorta", "inferior_vena_cava", "portal_vein_and_splenic_vein", "pancreas",
                      "adrenal_gland_right", "adrenal_gland_left"]),
    "provenance": {"training_data": "BTCV (Multi-Atlas Labeling Beyond the Cranial Vault, Synapse RawData.zip)",
                   "licence": "Apache-2.0 (the MONAI model-zoo bundle)"},
})
