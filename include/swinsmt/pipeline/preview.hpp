#pragma once
// A PNG overview of a segmentation: axial, coronal and sagittal slices through the middle of the
// volume, CT in grey with the labels coloured on top.

#include <swinsmt/io/volume.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace swinsmt {

struct PreviewOptions {
  double window_min = -160, window_max = 240;  ///< HU shown from black to white (soft tissue)
  double opacity = 0.5;                        ///< label colour weight
  int panel_height = 320;                      ///< pixels; widths follow the physical aspect
};

/// An 8-bit RGB image, rows top to bottom.
struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;  ///< width * height * 3
};

/// Renders the three views side by side in radiological convention (patient right on the image
/// left; anterior and superior up), resampled to square pixels. labels: uint8 on the grid of `ct`.
RgbImage render_preview(const io::Volume& ct, const at::Tensor& labels, const PreviewOptions& options = {});

/// A distinct, stable colour for each label id (1..255).
std::array<uint8_t, 3> label_colour(int label);

/// Encodes as PNG (libpng) and writes atomically. Throws swinsmt::Error.
void write_png(const std::string& path, const RgbImage& image);

}  // namespace swinsmt
