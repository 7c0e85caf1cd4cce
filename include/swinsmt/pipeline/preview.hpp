#pragma once
// A PNG overview of a segmentation: axial, coronal and sagittal slices through the middle of the
// volume, CT in grey with the labels coloured on top, and a legend of the structures shown.

#include <swinsmt/io/volume.hpp>
#include <swinsmt/pipeline/labels.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace swinsmt {

struct PreviewOptions {
  double window_min = -160, window_max = 240;  ///< HU shown from black to white (soft tissue)
  double opacity = 0.5;                        ///< label colour weight
  int panel_height = 320;                      ///< pixels; widths follow the physical aspect
  /// Label id -> colour (a model card's, label_descriptions.hpp); other ids get label_colour(id).
  std::map<int, std::array<uint8_t, 3>> colours;
  /// Label id -> the name the legend shows (a model card's); empty: labels(). An id the table does
  /// not name is shown as "label_<id>" (label_name).
  LabelTable names;
  bool legend = true;  ///< the legend below the views: every structure they show, its colour and name
};

/// An 8-bit RGB image, rows top to bottom.
struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;  ///< width * height * 3
};

/// One structure in the preview's legend and where it is drawn: a square swatch filled with its
/// colour and, to its right, its name in light grey (a 5 x 9 pixel font, 6 pixels a character).
struct LegendEntry {
  int label = 0;
  std::string name;
  std::array<uint8_t, 3> colour{};
  int swatch_x = 0, swatch_y = 0, swatch_size = 0;  ///< top-left pixel and side of the swatch
  int text_x = 0, text_y = 0;                       ///< top-left pixel of the name's first character
};

/// The preview and its legend's layout. legend_top is the first row below the views (the image's
/// height when there is no legend).
struct PreviewImage : RgbImage {
  std::vector<LegendEntry> legend;
  int legend_top = 0;
};

/// Renders the three views side by side in radiological convention (patient right on the image
/// left; anterior and superior up), resampled to square pixels. labels: uint8 on the grid of `ct`.
/// With options.legend, the structures the views show (in label order) are listed below them in
/// columns as wide as the image allows (the image widens to fit one column); no structure shown,
/// no legend.
PreviewImage render_preview(const io::Volume& ct, const at::Tensor& labels, const PreviewOptions& options = {});

/// A distinct, stable colour for each label id (1..255).
std::array<uint8_t, 3> label_colour(int label);

/// Encodes as PNG (libpng) and writes atomically. Throws swinsmt::Error.
void write_png(const std::string& path, const RgbImage& image);

}  // namespace swinsmt
