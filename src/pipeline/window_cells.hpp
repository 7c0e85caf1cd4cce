#pragma once
// The accumulators of SlidingWindowInferer::argmax and for_each_cell, cut into cells: the grid of
// boxes between consecutive window borders (every window start and end, per axis). Each window covers
// whole cells, so a cell is final as soon as the last window covering it has run: it is then divided
// by its weights, handed to its consumer (argmaxed into the label map, or softmaxed and resampled)
// and freed. Only cells some window has touched and some window still needs are held, and of those,
// the ones the next windows need last go to a scratch file (SpillFile) while the network runs,
// whenever more than the memory budget is held. Every voxel receives its windows' sums in the same
// order as with one whole-volume accumulator, so the results are bit for bit those of the same
// window order without cells or spilling. Internal to pipeline/.

#include "spill_file.hpp"

#include <swinsmt/pipeline/sliding_window.hpp>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace swinsmt::detail {

/// Receives a finished cell: its first voxel and its mean prediction (1, C, *extent), the sums divided
/// by the weights (a tensor the accumulator drops afterwards; the consumer may modify it). The same
/// callback type as SlidingWindowInferer::for_each_cell's, which hands the cells on.
using FinishedCell = CellConsumer;

class CellAccumulator {
 public:
  /// `starts`: the windows (each of size `roi`) in the order they will be added; `weight`: the
  /// (1, 1, *roi) importance map (on the device where the accumulators live); `finished`: called once
  /// per cell as it finishes. `memory_bytes` < 0 never spills.
  CellAccumulator(std::vector<int64_t> image_size, std::vector<int64_t> roi, std::vector<std::vector<int64_t>> starts,
                  at::Tensor weight, FinishedCell finished, int64_t memory_bytes, std::string spill_folder);
  /// The same, each finished cell argmaxed into `labels`, the (*image_size) uint8 map on the
  /// accumulators' device.
  CellAccumulator(std::vector<int64_t> image_size, std::vector<int64_t> roi, std::vector<std::vector<int64_t>> starts,
                  at::Tensor weight, at::Tensor labels, int64_t memory_bytes, std::string spill_folder);

  /// Before the network runs the next window: moves cells to the scratch file, those needed last
  /// first, until at most the memory budget is held.
  void before_window();
  /// Adds the weighted prediction (1, C, *roi) of the window at `position` and finishes every cell no
  /// later window covers. With a `head`, `seg` holds the window's features instead: the head makes
  /// the prediction of a few slices of a cell at a time, which are weighted and added. Throws
  /// swinsmt::Error for more than 256 channels or a head result of the wrong shape.
  void add(size_t position, const at::Tensor& seg, const PointwiseHead& head = {});

  /// Cells not yet finished (0 once every window was added).
  int64_t open_cells() const { return open_; }
  /// Accumulator bytes held in memory now and at most so far, and the scratch file's size.
  int64_t held_memory_bytes() const { return held_bytes_; }
  int64_t peak_memory_bytes() const { return peak_bytes_; }
  int64_t spill_file_bytes() const { return spill_ ? spill_->size() : 0; }

 private:
  struct Cell {
    std::vector<int64_t> begin, end;             // per axis, image coordinates
    int64_t remaining = 0;                       // windows still to add
    std::deque<size_t> uses;                     // positions of those windows, ascending
    at::Tensor sum, count;                       // (1, C, *extent) and (1, 1, *extent) while held in memory
    int64_t sum_offset = -1, count_offset = -1;  // slots in the scratch file while spilled
  };

  int64_t cell_bytes(const Cell& cell) const;
  void set_channels(int64_t channels);
  void load(Cell& cell, int64_t channels);
  void finish(Cell& cell);

  std::vector<int64_t> image_size_, roi_;
  std::vector<std::vector<int64_t>> starts_;
  at::Tensor weight_;
  FinishedCell finished_;
  at::Tensor labels_;  // the label map each finished cell's argmax goes to, when there is one (else finished_)
  int64_t memory_bytes_;
  std::string spill_folder_;
  std::unique_ptr<SpillFile> spill_;
  std::vector<std::vector<int64_t>> borders_;      // per axis: sorted window borders, 0 and the size included
  std::vector<Cell> cells_;                        // row-major over the per-axis cell counts
  std::vector<std::vector<size_t>> window_cells_;  // per position: the cells that window covers
  int64_t channels_ = 0, held_bytes_ = 0, peak_bytes_ = 0, open_ = 0;
};

}  // namespace swinsmt::detail
