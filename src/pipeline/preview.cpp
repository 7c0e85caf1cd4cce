#include <swinsmt/pipeline/preview.hpp>

#include "common/file_io.hpp"
#include "pipeline/bitmap_font.hpp"

#include <swinsmt/error.hpp>
#include <swinsmt/pipeline/preprocess.hpp>

#include <ATen/ATen.h>
#include <png.h>

#include <algorithm>
#include <cmath>

namespace swinsmt {

std::array<uint8_t, 3> label_colour(int label) {
  // Hues spread by the golden angle so neighbouring ids differ; two brightness levels alternate.
  const double hue = std::fmod(label * 0.618033988749895, 1.0) * 6.0;
  const double value = label % 2 ? 1.0 : 0.8, saturation = 0.85;
  const int sector = static_cast<int>(hue) % 6;
  const double f = hue - std::floor(hue);
  const double p = value * (1 - saturation), q = value * (1 - saturation * f), t = value * (1 - saturation * (1 - f));
  double r = 0, g = 0, b = 0;
  switch (sector) {
    case 0:
      r = value, g = t, b = p;
      break;
    case 1:
      r = q, g = value, b = p;
      break;
    case 2:
      r = p, g = value, b = t;
      break;
    case 3:
      r = p, g = q, b = value;
      break;
    case 4:
      r = t, g = p, b = value;
      break;
    default:
      r = value, g = p, b = q;
      break;
  }
  return {static_cast<uint8_t>(r * 255), static_cast<uint8_t>(g * 255), static_cast<uint8_t>(b * 255)};
}

namespace {

// Legend layout, in pixels: the swatch is as tall as a glyph, so a row's swatch and name line up.
constexpr int kLegendMargin = 6, kSwatchSize = detail::kGlyphHeight, kSwatchGap = 4, kRowHeight = kSwatchSize + 3,
              kColumnGap = 12;
constexpr std::array<uint8_t, 3> kLegendText{230, 230, 230};

/// Adds the legend of `shown` (label ids in order) below the views of `image`, widening the image
/// when one column does not fit.
void add_legend(PreviewImage& image, const std::vector<int>& shown, const PreviewOptions& options) {
  image.legend_top = image.height;
  if (shown.empty()) return;
  const LabelTable& names = options.names.empty() ? labels() : options.names;
  int name_width = 0;
  for (int id : shown) {
    LegendEntry e;
    e.label = id;
    e.name = label_name(id, names);
    const auto it = options.colours.find(id);
    e.colour = it != options.colours.end() ? it->second : label_colour(id);
    name_width = std::max(name_width, detail::text_width(e.name));
    image.legend.push_back(std::move(e));
  }
  const int column_width = kSwatchSize + kSwatchGap + name_width;
  const int width = std::max(image.width, 2 * kLegendMargin + column_width);
  const int columns = std::max(1, (width - 2 * kLegendMargin + kColumnGap) / (column_width + kColumnGap));
  const int rows = (static_cast<int>(shown.size()) + columns - 1) / columns;
  const int height = image.height + kLegendMargin + rows * kRowHeight - (kRowHeight - kSwatchSize) + kLegendMargin;

  // The views keep their pixels; the new area is black.
  std::vector<uint8_t> pixels(static_cast<size_t>(width) * height * 3, 0);
  for (int r = 0; r < image.height; ++r)
    std::copy_n(&image.pixels[static_cast<size_t>(r) * image.width * 3], static_cast<size_t>(image.width) * 3,
                &pixels[static_cast<size_t>(r) * width * 3]);
  image.pixels = std::move(pixels);
  image.width = width;
  image.height = height;

  // Down each column, then across: label order reads like a list.
  for (size_t i = 0; i < image.legend.size(); ++i) {
    LegendEntry& e = image.legend[i];
    const int column = static_cast<int>(i) / rows, row = static_cast<int>(i) % rows;
    e.swatch_x = kLegendMargin + column * (column_width + kColumnGap);
    e.swatch_y = image.legend_top + kLegendMargin + row * kRowHeight;
    e.swatch_size = kSwatchSize;
    e.text_x = e.swatch_x + kSwatchSize + kSwatchGap;
    e.text_y = e.swatch_y;
    for (int y = 0; y < kSwatchSize; ++y)
      for (int x = 0; x < kSwatchSize; ++x) {
        uint8_t* p = &image.pixels[(static_cast<size_t>(e.swatch_y + y) * width + e.swatch_x + x) * 3];
        std::copy(e.colour.begin(), e.colour.end(), p);
      }
    detail::draw_text(image, e.text_x, e.text_y, e.name, kLegendText);
  }
}

}  // namespace

PreviewImage render_preview(const io::Volume& ct, const at::Tensor& labels, const PreviewOptions& options) {
  if (labels.sizes() != ct.data.sizes())
    throw Error("preview: label map " + c10::str(labels.sizes()) + " and CT " + c10::str(ct.data.sizes()) +
                " differ in shape");
  // Work in RAS so the views do not depend on how the input was stored.
  const auto ras = orient_to_ras(ct.data.to(at::kFloat), ct.affine);
  const at::Tensor hu = ras.data.contiguous();
  const at::Tensor lab = orient_to_ras(labels.to(at::kByte), ct.affine).data.contiguous();
  const auto spacing = io::spacing_of(ras.affine);
  const int64_t X = hu.size(0), Y = hu.size(1), Z = hu.size(2);
  const auto h = hu.accessor<float, 3>();
  const auto l = lab.accessor<uint8_t, 3>();

  // One scale for the three panels: the tallest physical extent fills panel_height.
  const double mm_per_pixel = std::max(Y * spacing[1], Z * spacing[2]) / options.panel_height;
  struct View {
    double width_mm, height_mm;
    int fixed_axis;
    int64_t fixed_index;
  };
  const View views[3] = {{X * spacing[0], Y * spacing[1], 2, Z / 2},   // axial
                         {X * spacing[0], Z * spacing[2], 1, Y / 2},   // coronal
                         {Y * spacing[1], Z * spacing[2], 0, X / 2}};  // sagittal
  const int gap = 4;
  int width = 0, height = 0;
  int widths[3], heights[3];
  for (int v = 0; v < 3; ++v) {
    widths[v] = std::max(1, static_cast<int>(std::lround(views[v].width_mm / mm_per_pixel)));
    heights[v] = std::max(1, static_cast<int>(std::lround(views[v].height_mm / mm_per_pixel)));
    width += widths[v] + (v ? gap : 0);
    height = std::max(height, heights[v]);
  }
  PreviewImage image;
  image.width = width;
  image.height = height;
  image.pixels.assign(static_cast<size_t>(width) * height * 3, 0);

  // The colour of each label id, and which ids the views show (for the legend).
  std::array<std::array<uint8_t, 3>, 256> colours{};
  for (int id = 1; id < 256; ++id) {
    const auto it = options.colours.find(id);
    colours[static_cast<size_t>(id)] = it != options.colours.end() ? it->second : label_colour(id);
  }
  std::array<bool, 256> shown{};

  auto index = [&](double mm, double voxel_mm, int64_t n) {
    return std::clamp<int64_t>(static_cast<int64_t>(mm / voxel_mm), 0, n - 1);
  };
  int left = 0;
  for (int v = 0; v < 3; ++v) {
    for (int r = 0; r < heights[v]; ++r) {
      for (int c = 0; c < widths[v]; ++c) {
        const double u_mm = (c + 0.5) * mm_per_pixel, v_mm = (r + 0.5) * mm_per_pixel;
        int64_t x, y, z;
        // Radiological convention: image left = patient right (+x), up = anterior / superior.
        switch (views[v].fixed_axis) {
          case 2:
            x = X - 1 - index(u_mm, spacing[0], X), y = Y - 1 - index(v_mm, spacing[1], Y), z = views[v].fixed_index;
            break;
          case 1:
            x = X - 1 - index(u_mm, spacing[0], X), y = views[v].fixed_index, z = Z - 1 - index(v_mm, spacing[2], Z);
            break;
          default:
            x = views[v].fixed_index, y = Y - 1 - index(u_mm, spacing[1], Y), z = Z - 1 - index(v_mm, spacing[2], Z);
            break;
        }
        const double grey =
            std::clamp((h[x][y][z] - options.window_min) / (options.window_max - options.window_min), 0.0, 1.0) * 255.0;
        double rgb[3] = {grey, grey, grey};
        if (const int label = l[x][y][z]) {
          const auto& colour = colours[static_cast<size_t>(label)];
          shown[static_cast<size_t>(label)] = true;
          for (int k = 0; k < 3; ++k) rgb[k] = (1 - options.opacity) * rgb[k] + options.opacity * colour[k];
        }
        uint8_t* px = &image.pixels[(static_cast<size_t>(r) * width + left + c) * 3];
        for (int k = 0; k < 3; ++k) px[k] = static_cast<uint8_t>(std::lround(rgb[k]));
      }
    }
    left += widths[v] + gap;
  }
  if (options.legend) {
    std::vector<int> ids;
    for (int id = 1; id < 256; ++id)
      if (shown[static_cast<size_t>(id)]) ids.push_back(id);
    add_legend(image, ids, options);
  } else {
    image.legend_top = image.height;
  }
  return image;
}

namespace {

void append_png_bytes(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + length);
}

}  // namespace

void write_png(const std::string& path, const RgbImage& image) {
  std::vector<uint8_t> bytes;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) {
    png_destroy_write_struct(&png, &info);
    throw Error(path + ": cannot initialise libpng");
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    throw Error(path + ": PNG encoding failed");
  }
  png_set_write_fn(png, &bytes, append_png_bytes, nullptr);
  png_set_IHDR(png, info, image.width, image.height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int r = 0; r < image.height; ++r)
    png_write_row(png, const_cast<png_bytep>(&image.pixels[static_cast<size_t>(r) * image.width * 3]));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  write_file_atomically(path, bytes.data(), bytes.size());
}

}  // namespace swinsmt
