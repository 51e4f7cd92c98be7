//===- npy.cpp - .npy reading and writing ---------------------------------===//
#include "npy.h"

#include <cstdio>
#include <cstring>
#include <fstream>

namespace qfrt {

bool bindCarrier(NpyArray &a, qfrt_dtype expected, const std::string &what, std::string &error) {
  if (a.dtype == expected || qfrt_dtype_carrier(expected) == expected ||
      a.dtype != qfrt_dtype_carrier(expected))
    return true; // nothing to relabel; the runtime checks the dtype
  // Sub-byte integers must hold values of their width.
  int bits = expected == QFRT_I4 || expected == QFRT_U4 ? 4
             : expected == QFRT_I2 || expected == QFRT_U2 ? 2 : 0;
  if (bits) {
    bool isSigned = expected == QFRT_I4 || expected == QFRT_I2;
    int lo = isSigned ? -(1 << (bits - 1)) : 0, hi = isSigned ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
    for (char c : a.data) {
      int v = isSigned ? (int)(int8_t)c : (int)(uint8_t)c;
      if (v < lo || v > hi) {
        error = what + ": value " + std::to_string(v) + " does not fit " +
                qfrt_dtype_name(expected);
        return false;
      }
    }
  }
  a.dtype = expected;
  return true;
}

size_t NpyArray::numElements() const {
  size_t n = 1;
  for (int64_t d : shape)
    n *= (size_t)d;
  return n;
}

namespace {
struct Descr {
  const char *text;
  qfrt_dtype dtype;
};
const Descr kDescrs[] = {
    {"<f4", QFRT_F32}, {"<f8", QFRT_F64}, {"<f2", QFRT_F16}, {"|i1", QFRT_I8},
    {"|u1", QFRT_U8},  {"<i2", QFRT_I16}, {"<u2", QFRT_U16}, {"<i4", QFRT_I32},
    {"<u4", QFRT_U32}, {"<i8", QFRT_I64}, {"<u8", QFRT_U64}, {"|b1", QFRT_BOOL},
};

/// Value of `key` in the header dict, as raw text up to the next ',' or '}'
/// (or the matching ')' for tuples).
bool headerField(const std::string &h, const std::string &key, std::string &val) {
  size_t k = h.find("'" + key + "'");
  if (k == std::string::npos)
    return false;
  size_t c = h.find(':', k);
  if (c == std::string::npos)
    return false;
  size_t s = h.find_first_not_of(' ', c + 1);
  if (s == std::string::npos)
    return false;
  size_t e;
  if (h[s] == '(')
    e = h.find(')', s) + 1;
  else if (h[s] == '\'')
    e = h.find('\'', s + 1) + 1;
  else
    e = h.find_first_of(",}", s);
  if (e == std::string::npos || e == 0)
    return false;
  val = h.substr(s, e - s);
  return true;
}
} // namespace

bool readNpy(const std::string &path, NpyArray &out, std::string &error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    error = "cannot open '" + path + "'";
    return false;
  }
  char magic[8];
  if (!f.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) {
    error = "'" + path + "' is not a .npy file";
    return false;
  }
  uint32_t hlen = 0;
  if (magic[6] == 1) {
    unsigned char l[2];
    if (!f.read((char *)l, 2)) {
      error = "'" + path + "': truncated header";
      return false;
    }
    hlen = l[0] | (l[1] << 8);
  } else if (magic[6] == 2 || magic[6] == 3) {
    unsigned char l[4];
    if (!f.read((char *)l, 4)) {
      error = "'" + path + "': truncated header";
      return false;
    }
    hlen = l[0] | (l[1] << 8) | (l[2] << 16) | ((uint32_t)l[3] << 24);
  } else {
    error = "'" + path + "': unsupported .npy version";
    return false;
  }
  if (hlen > (1u << 20)) {
    error = "'" + path + "': header too large";
    return false;
  }
  std::string h(hlen, '\0');
  if (!f.read(h.data(), hlen)) {
    error = "'" + path + "': truncated header";
    return false;
  }
  std::string descr, order, shape;
  if (!headerField(h, "descr", descr) || !headerField(h, "fortran_order", order) ||
      !headerField(h, "shape", shape)) {
    error = "'" + path + "': malformed header";
    return false;
  }
  if (order.rfind("True", 0) == 0) {
    error = "'" + path + "': Fortran-order arrays are not supported";
    return false;
  }
  descr = descr.size() >= 2 ? descr.substr(1, descr.size() - 2) : descr;
  if (descr == "<b1" || descr == "b1")
    descr = "|b1";
  if (descr == "<i1")
    descr = "|i1";
  if (descr == "<u1")
    descr = "|u1";
  bool found = false;
  for (const Descr &d : kDescrs)
    if (descr == d.text) {
      out.dtype = d.dtype;
      found = true;
    }
  if (!found) {
    error = "'" + path + "': unsupported dtype '" + descr + "'";
    return false;
  }
  out.shape.clear();
  std::string inner = shape.substr(1, shape.size() - 2);
  size_t pos = 0;
  while (pos < inner.size()) {
    size_t comma = inner.find(',', pos);
    std::string part = inner.substr(pos, comma == std::string::npos ? std::string::npos
                                                                    : comma - pos);
    size_t a = part.find_first_not_of(' ');
    if (a != std::string::npos) {
      part = part.substr(a);
      char *end = nullptr;
      long long v = std::strtoll(part.c_str(), &end, 10);
      if (end == part.c_str() || v < 0) {
        error = "'" + path + "': bad shape";
        return false;
      }
      out.shape.push_back(v);
    }
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  // Size the data from the header only after checking it against the file,
  // so a corrupt shape cannot ask for an absurd allocation.
  std::streampos dataStart = f.tellg();
  f.seekg(0, std::ios::end);
  uint64_t available = (uint64_t)(f.tellg() - dataStart);
  f.seekg(dataStart);
  uint64_t bytes = qfrt_dtype_size(out.dtype);
  for (int64_t d : out.shape) {
    if (d != 0 && bytes > available / (uint64_t)d + 1) {
      bytes = UINT64_MAX;
      break;
    }
    bytes *= (uint64_t)d;
  }
  if (bytes > available) {
    error = "'" + path + "': truncated data (the header's shape needs more bytes "
            "than the file holds)";
    return false;
  }
  out.data.resize(bytes);
  if (bytes && !f.read(out.data.data(), (std::streamsize)bytes)) {
    error = "'" + path + "': truncated data";
    return false;
  }
  return true;
}

bool writeNpy(const std::string &path, const NpyArray &a, std::string &error) {
  const char *descr = nullptr;
  for (const Descr &d : kDescrs)
    if (d.dtype == qfrt_dtype_carrier(a.dtype))
      descr = d.text;
  if (!descr) {
    error = std::string("cannot write dtype ") + qfrt_dtype_name(a.dtype) + " to .npy";
    return false;
  }
  std::string shape = "(";
  for (size_t i = 0; i < a.shape.size(); ++i)
    shape += std::to_string(a.shape[i]) + (a.shape.size() == 1 ? "," : (i + 1 < a.shape.size() ? ", " : ""));
  shape += ")";
  std::string h = std::string("{'descr': '") + descr +
                  "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) {
      error = "cannot write '" + path + "'";
      return false;
    }
    uint16_t hl = (uint16_t)h.size();
    f.write("\x93NUMPY\x01\x00", 8);
    char l[2] = {(char)(hl & 0xff), (char)(hl >> 8)};
    f.write(l, 2);
    f.write(h.data(), (std::streamsize)h.size());
    f.write(a.data.data(), (std::streamsize)a.data.size());
    if (!f) {
      std::remove(tmp.c_str());
      error = "cannot write '" + path + "'";
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    error = "cannot write '" + path + "'";
    return false;
  }
  return true;
}

} // namespace qfrt
