#pragma once
// A 5 x 9 pixel bitmap font of printable ASCII (7 rows from the cap line to the baseline, 2 rows of
// descenders), drawn for swinsmt: the preview's legend needs text, and a font file or a font
// library would be a dependency for a few dozen structure names. Private to pipeline/.

#include <swinsmt/pipeline/preview.hpp>

#include <array>
#include <cstdint>
#include <string>

namespace swinsmt::detail {

constexpr int kGlyphWidth = 5;
constexpr int kGlyphHeight = 9;
constexpr int kGlyphAdvance = kGlyphWidth + 1;  ///< one blank column between characters

/// The rows of `c`'s glyph, top to bottom; bit 4 is the leftmost column. Characters outside
/// printable ASCII (32..126) are drawn as '?'.
const std::array<uint8_t, kGlyphHeight>& glyph(char c);

/// Width in pixels of `text` drawn by draw_text (no trailing blank column).
int text_width(const std::string& text);

/// Draws `text` with its top-left corner at (x, y) in `colour`, one pixel per font pixel; pixels
/// outside the image are skipped. Only the glyphs' set pixels are drawn.
void draw_text(RgbImage& image, int x, int y, const std::string& text, const std::array<uint8_t, 3>& colour);

}  // namespace swinsmt::detail
