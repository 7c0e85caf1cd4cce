#include "window_cells.hpp"

#include "cell_arithmetic.hpp"

#include "common/strings.hpp"

#include <swinsmt/error.hpp>

#include <ATen/ATen.h>

#include <algorithm>
#include <numeric>

namespace swinsmt::detail {

namespace {
// With a pointwise head, each call computes the logits of about this many voxels (31 MB at 118
// channels), which are weighted and added while still in cache.
constexpr int64_t kHeadVoxels = int64_t{1} << 16;
}  // namespace

CellAccumulator::CellAccumulator(std::vector<int64_t> image_size, std::vector<int64_t> roi,
                                 std::vector<std::vector<int64_t>> starts, at::Tensor weight, at::Tensor labels,
                                 int64_t memory_bytes, std::string spill_folder)
    : CellAccumulator(std::move(image_size), std::move(roi), std::move(starts), std::move(weight), FinishedCell(),
                      memory_bytes, std::move(spill_folder)) {
  labels_ = std::move(labels);
}

CellAccumulator::CellAccumulator(std::vector<int64_t> image_size, std::vector<int64_t> roi,
                                 std::vector<std::vector<int64_t>> starts, at::Tensor weight, FinishedCell finished,
                                 int64_t memory_bytes, std::string spill_folder)
    : image_size_(std::move(image_size)),
      roi_(std::move(roi)),
      starts_(std::move(starts)),
      weight_(std::move(weight)),
      finished_(std::move(finished)),
      memory_bytes_(memory_bytes),
      spill_folder_(std::move(spill_folder)) {
  const size_t ndim = image_size_.size();
  borders_.resize(ndim);
  for (size_t a = 0; a < ndim; ++a) {
    auto& b = borders_[a];
    b = {0, image_size_[a]};
    for (const auto& s : starts_) {
      b.push_back(s[a]);
      b.push_back(s[a] + roi_[a]);
    }
    std::sort(b.begin(), b.end());
    b.erase(std::unique(b.begin(), b.end()), b.end());
  }
  // Cells row-major over the axes (the first slowest).
  std::vector<int64_t> counts(ndim);
  for (size_t a = 0; a < ndim; ++a) counts[a] = static_cast<int64_t>(borders_[a].size()) - 1;
  const int64_t total = std::accumulate(counts.begin(), counts.end(), int64_t{1}, std::multiplies<>());
  cells_.resize(static_cast<size_t>(total));
  for (int64_t id = 0; id < total; ++id) {
    Cell& c = cells_[static_cast<size_t>(id)];
    c.begin.resize(ndim);
    c.end.resize(ndim);
    int64_t rest = id;
    for (size_t a = ndim; a-- > 0;) {
      const int64_t i = rest % counts[a];
      rest /= counts[a];
      c.begin[a] = borders_[a][static_cast<size_t>(i)];
      c.end[a] = borders_[a][static_cast<size_t>(i) + 1];
    }
  }
  // Each window covers the cells between its start and end border on every axis.
  window_cells_.resize(starts_.size());
  for (size_t p = 0; p < starts_.size(); ++p) {
    std::vector<int64_t> first(ndim), last(ndim);
    for (size_t a = 0; a < ndim; ++a) {
      const auto& b = borders_[a];
      first[a] = std::lower_bound(b.begin(), b.end(), starts_[p][a]) - b.begin();
      last[a] = std::lower_bound(b.begin(), b.end(), starts_[p][a] + roi_[a]) - b.begin();
    }
    std::vector<int64_t> index = first;
    while (true) {
      int64_t id = 0;
      for (size_t a = 0; a < ndim; ++a) id = id * counts[a] + index[a];
      window_cells_[p].push_back(static_cast<size_t>(id));
      Cell& c = cells_[static_cast<size_t>(id)];
      if (c.remaining++ == 0) ++open_;
      c.uses.push_back(p);
      size_t a = ndim;
      while (a-- > 0) {
        if (++index[a] < last[a]) break;
        index[a] = first[a];
      }
      if (a == static_cast<size_t>(-1)) break;
    }
  }
}

int64_t CellAccumulator::cell_bytes(const Cell& cell) const {
  int64_t voxels = 1;
  for (size_t a = 0; a < cell.begin.size(); ++a) voxels *= cell.end[a] - cell.begin[a];
  return voxels * (channels_ + 1) * static_cast<int64_t>(weight_.element_size());
}

void CellAccumulator::before_window() {
  if (memory_bytes_ < 0 || held_bytes_ <= memory_bytes_) return;
  std::vector<Cell*> held;
  for (auto& c : cells_)
    if (c.sum.defined()) held.push_back(&c);
  // Needed last first (every held cell still has a use: finished cells are freed).
  std::sort(held.begin(), held.end(), [](const Cell* x, const Cell* y) { return x->uses.front() > y->uses.front(); });
  for (Cell* c : held) {
    if (held_bytes_ <= memory_bytes_) break;
    if (!spill_) spill_ = std::make_unique<SpillFile>(spill_folder_);
    c->sum_offset = spill_->store(c->sum);
    c->count_offset = spill_->store(c->count);
    c->sum = at::Tensor();
    c->count = at::Tensor();
    held_bytes_ -= cell_bytes(*c);
  }
}

void CellAccumulator::load(Cell& cell, int64_t channels) {
  if (cell.sum.defined()) return;
  std::vector<int64_t> shape{1, channels};
  for (size_t a = 0; a < cell.begin.size(); ++a) shape.push_back(cell.end[a] - cell.begin[a]);
  std::vector<int64_t> count_shape = shape;
  count_shape[1] = 1;
  const auto options = weight_.options();
  if (cell.sum_offset >= 0) {
    cell.sum = spill_->take(cell.sum_offset, shape, options);
    cell.count = spill_->take(cell.count_offset, count_shape, options);
    cell.sum_offset = cell.count_offset = -1;
  } else {
    cell.sum = at::zeros(shape, options);
    cell.count = at::zeros(count_shape, options);
  }
  held_bytes_ += cell_bytes(cell);
  peak_bytes_ = std::max(peak_bytes_, held_bytes_);
}

void CellAccumulator::set_channels(int64_t channels) {
  if (channels_ != 0) return;
  if (channels > 256) throw Error("argmax: " + std::to_string(channels) + " channels do not fit uint8 labels");
  channels_ = channels;
}

void CellAccumulator::add(size_t position, const at::Tensor& seg, const PointwiseHead& head) {
  if (!head) set_channels(seg.size(1));
  const auto& start = starts_[position];
  for (size_t id : window_cells_[position]) {
    Cell& c = cells_[id];
    at::Tensor part = seg, weight = weight_;
    for (size_t a = 0; a < c.begin.size(); ++a) {
      const int64_t offset = c.begin[a] - start[a], extent = c.end[a] - c.begin[a];
      part = part.narrow(static_cast<int64_t>(a) + 2, offset, extent);
      weight = weight.narrow(static_cast<int64_t>(a) + 2, offset, extent);
    }
    if (!head) {
      load(c, channels_);
      c.sum.add_(part);
    } else {
      // A few slices along the first axis at a time: about kHeadVoxels voxels of logits.
      int64_t slice = 1;
      for (int64_t d = 3; d < part.dim(); ++d) slice *= part.size(d);
      const int64_t step = std::max<int64_t>(1, kHeadVoxels / std::max<int64_t>(1, slice));
      for (int64_t s0 = 0; s0 < part.size(2); s0 += step) {
        const int64_t n = std::min(step, part.size(2) - s0);
        const at::Tensor features = part.narrow(2, s0, n);
        at::Tensor logits = head(features);
        if (logits.dim() != features.dim() || logits.size(0) != 1 ||
            logits.sizes().slice(2) != features.sizes().slice(2))
          throw Error("the pointwise head returned " + join(logits.sizes().vec(), " x ") + " for features of " +
                      join(features.sizes().vec(), " x ") + "; expected 1 x channels x the same box");
        set_channels(logits.size(1));
        load(c, channels_);
        // As MONAI: the window's logits times the importance map, then added (one pass, while the
        // logits are in cache).
        add_weighted(c.sum.narrow(2, s0, n), logits, weight.narrow(2, s0, n));
      }
    }
    c.count.add_(weight);
    c.uses.pop_front();
    if (--c.remaining == 0) finish(c);
  }
}

void CellAccumulator::finish(Cell& cell) {
  held_bytes_ -= cell_bytes(cell);
  const at::Tensor sum = std::move(cell.sum), count = std::move(cell.count);  // leaves the cell's undefined
  --open_;
  if (labels_.defined()) {
    // The mean's argmax straight into the label map, without writing the mean.
    at::Tensor region = labels_;
    for (size_t a = 0; a < cell.begin.size(); ++a)
      region = region.narrow(static_cast<int64_t>(a), cell.begin[a], cell.end[a] - cell.begin[a]);
    mean_argmax(sum, count, region);
  } else {
    // The mean over the windows (in place: the cell is discarded), then its consumer.
    finished_(cell.begin, sum.div_(count));
  }
}

}  // namespace swinsmt::detail
