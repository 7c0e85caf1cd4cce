#pragma once
// Outlines of a binary image along pixel edges: what an RT-STRUCT's CLOSED_PLANAR contours are
// traced from. Internal to io/.

#include <cstdint>
#include <utility>
#include <vector>

namespace swinsmt::io::detail {

/// A closed outline: its corners in pixel-corner coordinates, (x, y) = (column, row) of the corner
/// at the top-left of pixel (row y, column x); the outline of pixel (r, c) alone is
/// (c+1, r), (c, r), (c, r+1), (c+1, r+1). The first corner is not repeated at the end.
using Outline = std::vector<std::pair<int32_t, int32_t>>;

/// Every boundary of the set pixels of `mask` (rows x columns, row by row, nonzero = set): the
/// outer boundary of each region, the boundary of each hole, and those of the regions inside the
/// holes, each as its own closed outline along pixel edges, corners only where the direction
/// changes. Outlines meet at most at corners (two regions touching diagonally). A pixel centre is
/// set exactly when it lies inside an odd number of outlines (even-odd rule).
std::vector<Outline> trace_outlines(const uint8_t* mask, int64_t rows, int64_t columns);

}  // namespace swinsmt::io::detail
