//===- Observers.h - activation statistics for calibration -----*- C++ -*-===//
//
// One ActivationStats per observed tensor holds everything every calibration
// method needs: min/max, their moving averages and a histogram of |x|. One
// pass over the calibration data then serves min-max, moving-average,
// percentile, MSE and KL-entropy ranges alike, and stats of separate shards
// merge into the stats of their union.
//
//===----------------------------------------------------------------------===//
#ifndef QF_QUANT_OBSERVERS_H
#define QF_QUANT_OBSERVERS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace qf::quant {

struct ActivationStats {
  static constexpr int kBins = 2048;
  /// Weight of a new batch's min/max in the moving averages (as PyTorch's
  /// MovingAverageMinMaxObserver).
  static constexpr double kAveraging = 0.01;

  int64_t batches = 0;
  int64_t count = 0; // values seen
  double min = 0, max = 0;
  double emaMin = 0, emaMax = 0;
  /// Histogram of |x| over [0, range): kBins equal bins. `range` is a power
  /// of two; a larger value doubles it, merging bin pairs, so histograms of
  /// any two shards line up after the smaller range is doubled.
  double range = 0;
  std::vector<double> hist;
  /// min, max and max |x| per channel (the last dim), when batches were
  /// added with a channel count.
  std::vector<double> channelMin, channelMax, channelAbsMax;
  /// Sum of x^2 per channel, over channelRows rows (SmoothQuant's alpha
  /// search models rounding noise with the channels' second moments).
  std::vector<double> channelSumSq;
  int64_t channelRows = 0;

  /// Adds one batch (one calibration sample's tensor); with `channels`, rows
  /// of that many values also update channelAbsMax (SmoothQuant needs it).
  void add(llvm::ArrayRef<float> x, int64_t channels = 0);
  /// Folds in the stats of another shard of data. The moving averages
  /// combine weighted by batch counts (the order of batches across shards is
  /// not known).
  void merge(const ActivationStats &other);

private:
  void growTo(double newRange);
};

enum class CalibMethod { MinMax, MovingAverage, Percentile, Mse, Entropy, Aciq };

/// "minmax", "moving-average", "percentile", "mse", "entropy", "aciq";
/// nullopt else.
std::optional<CalibMethod> parseCalibMethod(llvm::StringRef name);
const char *calibMethodNames();

/// The real range [lo, hi] the quantized activation should cover. Min-max
/// methods give an asymmetric range (for a zero point); histogram methods a
/// symmetric [-t, t], with t the `percentile` of |x|, the threshold of least
/// expected squared error under `bits`-bit rounding, TensorRT's minimum
/// KL divergence threshold, or ACIQ's Laplace clip alpha(bits) * mean |x|.
std::pair<double, double> calibrationRange(const ActivationStats &s, CalibMethod m,
                                           unsigned bits = 8, double percentile = 99.99);

/// Per-layer stats in a JSON file ("quantforge-calibration", version 1).
using StatsMap = std::map<std::string, ActivationStats>;
bool writeStats(const std::string &path, const StatsMap &stats, std::string &error);
/// Reads `path` and merges its layers into `stats`.
bool readStats(const std::string &path, StatsMap &stats, std::string &error);

} // namespace qf::quant

#endif
