//===- Observers.cpp - activation statistics for calibration --------------===//
#include "qf/Quant/Observers.h"
#include "qf/Quant/Numerics.h"
#include "qf/Quant/JsonFile.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace qf::quant {

/// The smallest power of two >= v (1 for v <= 0).
static double pow2Ceil(double v) {
  if (!(v > 0))
    return 1.0;
  return std::ldexp(1.0, (int)std::ceil(std::log2(v)));
}

void ActivationStats::growTo(double newRange) {
  while (range < newRange) {
    for (int i = 0; i < kBins / 2; ++i)
      hist[i] = hist[2 * i] + hist[2 * i + 1];
    std::fill(hist.begin() + kBins / 2, hist.end(), 0.0);
    range *= 2;
  }
}

void ActivationStats::add(llvm::ArrayRef<float> x, int64_t channels) {
  if (x.empty())
    return;
  if (channels > 0 && (int64_t)x.size() % channels == 0) {
    if ((int64_t)channelAbsMax.size() != channels) {
      channelAbsMax.assign(channels, 0.0);
      channelMin.assign(channels, INFINITY);
      channelMax.assign(channels, -INFINITY);
      channelSumSq.assign(channels, 0.0);
      channelRows = 0;
    }
    for (size_t i = 0; i < x.size(); ++i) {
      size_t c = i % channels;
      channelAbsMax[c] = std::max(channelAbsMax[c], (double)std::fabs(x[i]));
      channelMin[c] = std::min(channelMin[c], (double)x[i]);
      channelMax[c] = std::max(channelMax[c], (double)x[i]);
      channelSumSq[c] += (double)x[i] * x[i];
    }
    channelRows += (int64_t)x.size() / channels;
  }
  double lo = x[0], hi = x[0];
  for (float v : x) {
    lo = std::min(lo, (double)v);
    hi = std::max(hi, (double)v);
  }
  if (batches == 0) {
    min = emaMin = lo;
    max = emaMax = hi;
    range = pow2Ceil(std::max(std::fabs(lo), std::fabs(hi)));
    hist.assign(kBins, 0.0);
  } else {
    min = std::min(min, lo);
    max = std::max(max, hi);
    emaMin += kAveraging * (lo - emaMin);
    emaMax += kAveraging * (hi - emaMax);
    growTo(std::max(std::fabs(lo), std::fabs(hi)));
  }
  double perUnit = kBins / range;
  for (float v : x) {
    int b = std::min(kBins - 1, (int)(std::fabs(v) * perUnit));
    hist[b] += 1;
  }
  ++batches;
  count += (int64_t)x.size();
}

void ActivationStats::merge(const ActivationStats &o) {
  if (o.batches == 0)
    return;
  if (batches == 0) {
    *this = o;
    return;
  }
  double n = (double)batches, m = (double)o.batches;
  emaMin = (emaMin * n + o.emaMin * m) / (n + m);
  emaMax = (emaMax * n + o.emaMax * m) / (n + m);
  min = std::min(min, o.min);
  max = std::max(max, o.max);
  if (channelAbsMax.empty()) {
    channelAbsMax = o.channelAbsMax;
    channelMin = o.channelMin;
    channelMax = o.channelMax;
    channelSumSq = o.channelSumSq;
    channelRows = o.channelRows;
  } else if (channelAbsMax.size() == o.channelAbsMax.size()) {
    for (size_t i = 0; i < channelAbsMax.size(); ++i)
      channelAbsMax[i] = std::max(channelAbsMax[i], o.channelAbsMax[i]);
    if (channelMin.size() == o.channelMin.size() && channelMax.size() == o.channelMax.size())
      for (size_t i = 0; i < channelMin.size(); ++i) {
        channelMin[i] = std::min(channelMin[i], o.channelMin[i]);
        channelMax[i] = std::max(channelMax[i], o.channelMax[i]);
      }
    if (channelSumSq.size() == o.channelSumSq.size()) {
      for (size_t i = 0; i < channelSumSq.size(); ++i)
        channelSumSq[i] += o.channelSumSq[i];
      channelRows += o.channelRows;
    } else {
      channelSumSq.clear(); // a shard without them: no second moments
      channelRows = 0;
    }
  }
  ActivationStats other = o;
  growTo(other.range);
  other.growTo(range);
  for (int i = 0; i < kBins; ++i)
    hist[i] += other.hist[i];
  batches += o.batches;
  count += o.count;
}

std::optional<CalibMethod> parseCalibMethod(llvm::StringRef name) {
  if (name == "minmax")
    return CalibMethod::MinMax;
  if (name == "moving-average")
    return CalibMethod::MovingAverage;
  if (name == "percentile")
    return CalibMethod::Percentile;
  if (name == "mse")
    return CalibMethod::Mse;
  if (name == "entropy")
    return CalibMethod::Entropy;
  if (name == "aciq")
    return CalibMethod::Aciq;
  return std::nullopt;
}

const char *calibMethodNames() {
  return "minmax, moving-average, percentile, mse, entropy, aciq";
}

/// ACIQ on activations: a Laplace fit around 0 with b = mean |x|, from the
/// histogram's bin centres.
static double aciqThreshold(const ActivationStats &s, unsigned bits) {
  double total = 0, sum = 0, width = s.range / ActivationStats::kBins;
  for (int i = 0; i < ActivationStats::kBins; ++i) {
    total += s.hist[i];
    sum += s.hist[i] * (i + 0.5) * width;
  }
  return total > 0 ? aciqAlpha(bits) * sum / total : s.range;
}

/// The |x| below which `pct` percent of the values lie, interpolated
/// within its bin.
static double percentileThreshold(const ActivationStats &s, double pct) {
  const int B = ActivationStats::kBins;
  double total = 0;
  for (double h : s.hist)
    total += h;
  double target = pct / 100.0 * total, cum = 0, width = s.range / B;
  for (int i = 0; i < B; ++i) {
    if (cum + s.hist[i] >= target && s.hist[i] > 0)
      return (i + (target - cum) / s.hist[i]) * width;
    cum += s.hist[i];
  }
  return s.range;
}

/// The clipping threshold t minimizing the expected squared error of
/// symmetric `bits`-bit rounding over the histogram: values within t carry
/// uniform rounding noise step^2/12, values beyond it their clipping error.
static double mseThreshold(const ActivationStats &s, unsigned bits) {
  const int B = ActivationStats::kBins;
  double width = s.range / B, levels = std::ldexp(1.0, bits - 1) - 1;
  double best = s.range, bestErr = std::numeric_limits<double>::infinity();
  for (int j = 1; j <= B; ++j) {
    double t = j * width, step = t / levels, err = 0;
    for (int i = 0; i < B; ++i) {
      if (s.hist[i] == 0)
        continue;
      double c = (i + 0.5) * width;
      err += s.hist[i] * (c <= t ? step * step / 12 : (c - t) * (c - t));
    }
    if (err < bestErr) {
      bestErr = err;
      best = t;
    }
  }
  return best;
}

/// TensorRT's entropy calibration: for each candidate count i of kept bins,
/// P is the histogram clipped at i (outliers piled into the last bin) and Q
/// the first i bins squeezed into 2^(bits-1) levels and spread back over
/// their non-empty bins; the i of least KL(P || Q) sets the threshold.
static double entropyThreshold(const ActivationStats &s, unsigned bits) {
  const int B = ActivationStats::kBins;
  const int L = 1 << (bits - 1);
  double width = s.range / B;
  std::vector<double> suffix(B + 1, 0.0);
  for (int i = B - 1; i >= 0; --i)
    suffix[i] = suffix[i + 1] + s.hist[i];
  if (suffix[0] == 0)
    return s.range;
  double best = s.range, bestKl = std::numeric_limits<double>::infinity();
  std::vector<double> p, q;
  for (int i = L; i <= B; ++i) {
    p.assign(s.hist.begin(), s.hist.begin() + i);
    p[i - 1] += suffix[i];
    q.assign(i, 0.0);
    double perLevel = (double)i / L;
    for (int j = 0; j < L; ++j) {
      int start = (int)(j * perLevel), end = j == L - 1 ? i : (int)((j + 1) * perLevel);
      double sum = 0;
      int nonzero = 0;
      for (int k = start; k < end; ++k) {
        sum += s.hist[k];
        nonzero += s.hist[k] != 0;
      }
      for (int k = start; k < end; ++k)
        if (s.hist[k] != 0)
          q[k] = sum / nonzero;
    }
    double pSum = 0, qSum = 0;
    for (int k = 0; k < i; ++k) {
      pSum += p[k];
      qSum += q[k];
    }
    if (pSum == 0 || qSum == 0)
      continue;
    // A bin P has and Q lacks (the outlier pile) costs as if Q held 1e-4
    // of a count there, so the divergence stays finite.
    double kl = 0;
    for (int k = 0; k < i; ++k) {
      if (p[k] == 0)
        continue;
      double pk = p[k] / pSum, qk = std::max(q[k], 1e-4) / qSum;
      kl += pk * std::log(pk / qk);
    }
    if (kl < bestKl) {
      bestKl = kl;
      best = (i + 0.5) * width;
    }
  }
  return std::min(best, s.range);
}

std::pair<double, double> calibrationRange(const ActivationStats &s, CalibMethod m,
                                           unsigned bits, double percentile) {
  if (s.batches == 0)
    return {0.0, 0.0};
  double t = s.range;
  switch (m) {
  case CalibMethod::MinMax:
    return {s.min, s.max};
  case CalibMethod::MovingAverage:
    return {s.emaMin, s.emaMax};
  case CalibMethod::Percentile:
    t = percentileThreshold(s, percentile);
    break;
  case CalibMethod::Mse:
    t = mseThreshold(s, bits);
    break;
  case CalibMethod::Entropy:
    t = entropyThreshold(s, bits);
    break;
  case CalibMethod::Aciq:
    t = aciqThreshold(s, bits);
    break;
  }
  // Never wider than what was seen.
  t = std::min(t, std::max(std::fabs(s.min), std::fabs(s.max)));
  return {-t, t};
}

bool writeStats(const std::string &path, const StatsMap &stats, std::string &error) {
  llvm::json::Object layers;
  for (const auto &[name, s] : stats) {
    llvm::json::Array hist;
    for (double h : s.hist)
      hist.push_back(h);
    llvm::json::Object o{
        {"batches", s.batches}, {"count", s.count},   {"min", s.min},
        {"max", s.max},         {"ema_min", s.emaMin}, {"ema_max", s.emaMax},
        {"hist_range", s.range}, {"hist", std::move(hist)}};
    auto array = [](const std::vector<double> &v) {
      llvm::json::Array a;
      for (double x : v)
        a.push_back(x);
      return a;
    };
    if (!s.channelAbsMax.empty())
      o["channel_absmax"] = array(s.channelAbsMax);
    if (!s.channelMin.empty()) {
      o["channel_min"] = array(s.channelMin);
      o["channel_max"] = array(s.channelMax);
    }
    if (!s.channelSumSq.empty()) {
      o["channel_sumsq"] = array(s.channelSumSq);
      o["channel_rows"] = s.channelRows;
    }
    layers[name] = std::move(o);
  }
  llvm::json::Value doc = llvm::json::Object{{"format", "quantforge-calibration"},
                                             {"version", 1},
                                             {"layers", std::move(layers)}};
  return writeJsonFile(path, doc, error);
}

bool readStats(const std::string &path, StatsMap &stats, std::string &error) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf) {
    error = "cannot open '" + path + "': " + buf.getError().message();
    return false;
  }
  auto bad = [&](const std::string &why) {
    error = "'" + path + "' is not a calibration stats file: " + why;
    return false;
  };
  llvm::Expected<llvm::json::Value> doc = llvm::json::parse((*buf)->getBuffer());
  if (!doc)
    return bad(llvm::toString(doc.takeError()));
  const llvm::json::Object *root = doc->getAsObject();
  if (!root || root->getString("format") != "quantforge-calibration")
    return bad("no \"format\": \"quantforge-calibration\"");
  if (root->getInteger("version") != 1)
    return bad("unsupported version");
  const llvm::json::Object *layers = root->getObject("layers");
  if (!layers)
    return bad("no \"layers\" object");
  StatsMap read;
  for (const auto &[key, value] : *layers) {
    std::string name = key.str();
    const llvm::json::Object *o = value.getAsObject();
    if (!o)
      return bad("layer '" + name + "' is not an object");
    ActivationStats s;
    auto num = [&](llvm::StringRef field, double &out) {
      std::optional<double> v = o->getNumber(field);
      if (!v || !std::isfinite(*v))
        return false;
      out = *v;
      return true;
    };
    double batches = 0, count = 0;
    const llvm::json::Array *hist = o->getArray("hist");
    if (!num("batches", batches) || !num("count", count) || !num("min", s.min) ||
        !num("max", s.max) || !num("ema_min", s.emaMin) || !num("ema_max", s.emaMax) ||
        !num("hist_range", s.range) || !hist)
      return bad("layer '" + name + "' lacks a numeric field");
    s.batches = (int64_t)batches;
    s.count = (int64_t)count;
    if (s.batches < 1 || s.min > s.max || !(s.range > 0) ||
        s.range != pow2Ceil(s.range) || hist->size() != (size_t)ActivationStats::kBins)
      return bad("layer '" + name + "' has inconsistent statistics");
    for (const llvm::json::Value &h : *hist) {
      std::optional<double> v = h.getAsNumber();
      if (!v || *v < 0 || !std::isfinite(*v))
        return bad("layer '" + name + "' has a bad histogram count");
      s.hist.push_back(*v);
    }
    auto channels = [&](llvm::StringRef field, std::vector<double> &out) {
      if (const llvm::json::Array *ch = o->getArray(field))
        for (const llvm::json::Value &c : *ch) {
          std::optional<double> v = c.getAsNumber();
          if (!v || !std::isfinite(*v))
            return false;
          out.push_back(*v);
        }
      return true;
    };
    if (!channels("channel_absmax", s.channelAbsMax) || !channels("channel_min", s.channelMin) ||
        !channels("channel_max", s.channelMax) || s.channelMin.size() != s.channelMax.size() ||
        !channels("channel_sumsq", s.channelSumSq) ||
        (!s.channelSumSq.empty() && s.channelSumSq.size() != s.channelAbsMax.size()))
      return bad("layer '" + name + "' has bad per-channel statistics");
    s.channelRows = o->getInteger("channel_rows").value_or(0);
    if (!s.channelSumSq.empty() && s.channelRows <= 0)
      return bad("layer '" + name + "' has channel sums without a row count");
    read[name] = std::move(s);
  }
  for (auto &[name, s] : read)
    stats[name].merge(s);
  return true;
}

} // namespace qf::quant
