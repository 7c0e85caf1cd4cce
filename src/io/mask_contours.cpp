#include "io/mask_contours.hpp"

#include <cstddef>
#include <unordered_map>

namespace swinsmt::io::detail {
namespace {

// The four edge directions in (x, y): right, down, left, up.
constexpr int32_t kDx[4] = {1, 0, -1, 0};
constexpr int32_t kDy[4] = {0, 1, 0, -1};

struct Edge {
  int32_t x, y;  // start corner
  int direction;
  bool used = false;
};

}  // namespace

std::vector<Outline> trace_outlines(const uint8_t* mask, int64_t rows, int64_t columns) {
  const auto set = [&](int64_t r, int64_t c) {
    return r >= 0 && c >= 0 && r < rows && c < columns && mask[r * columns + c] != 0;
  };
  // Every pixel side between a set pixel and an unset one (or the border), directed so that the
  // set pixel lies on the same side of every edge: around a lone pixel the edges form one loop.
  std::vector<Edge> edges;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < columns; ++c) {
      if (!set(r, c)) continue;
      const auto x = static_cast<int32_t>(c), y = static_cast<int32_t>(r);
      if (!set(r - 1, c)) edges.push_back({x + 1, y, 2});      // top side, leftwards
      if (!set(r, c - 1)) edges.push_back({x, y, 1});          // left side, downwards
      if (!set(r + 1, c)) edges.push_back({x, y + 1, 0});      // bottom side, rightwards
      if (!set(r, c + 1)) edges.push_back({x + 1, y + 1, 3});  // right side, upwards
    }
  const auto key = [&](int32_t x, int32_t y) { return static_cast<int64_t>(y) * (columns + 1) + x; };
  // Edges leaving each corner: one, or two where two regions touch diagonally.
  std::unordered_map<int64_t, std::vector<size_t>> leaving;
  leaving.reserve(edges.size());
  for (size_t i = 0; i < edges.size(); ++i) leaving[key(edges[i].x, edges[i].y)].push_back(i);

  std::vector<Outline> outlines;
  for (size_t start = 0; start < edges.size(); ++start) {
    if (edges[start].used) continue;
    Outline outline;
    size_t e = start;
    int previous = -1;
    while (!edges[e].used) {
      Edge& edge = edges[e];
      edge.used = true;
      if (edge.direction != previous) outline.emplace_back(edge.x, edge.y);
      previous = edge.direction;
      const int32_t x = edge.x + kDx[edge.direction], y = edge.y + kDy[edge.direction];
      // At a corner two regions share, turn so that each region keeps its own outline: the edge
      // turning the same way as around a lone pixel comes first.
      const auto& next = leaving[key(x, y)];
      size_t chosen = next.front();
      for (size_t candidate : next)
        if (!edges[candidate].used && edges[candidate].direction == (edge.direction + 3) % 4) chosen = candidate;
      if (edges[chosen].used)
        for (size_t candidate : next)
          if (!edges[candidate].used) chosen = candidate;
      e = chosen;
    }
    // The last run may continue the first one: drop the start corner if it lies on a straight line.
    if (outline.size() > 2 && previous == edges[start].direction) outline.erase(outline.begin());
    outlines.push_back(std::move(outline));
  }
  return outlines;
}

}  // namespace swinsmt::io::detail
