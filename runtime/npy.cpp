//===- npy.cpp - .npy reading and writing ---------------------------------===//
#include "npy.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
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

/// Parses the magic, header and shape of a .npy held in `data`; sets the
/// dtype and shape of `out` and `dataOffset` to where the array starts. Every
/// offset is checked against `size`, so any byte string is safe to hand in.
static bool parseNpyHeader(const char *data, size_t size, const std::string &name,
                           NpyArray &out, size_t &dataOffset, std::string &error) {
  if (size < 8 || std::memcmp(data, "\x93NUMPY", 6) != 0) {
    error = "'" + name + "' is not a .npy file";
    return false;
  }
  const auto *u = (const unsigned char *)data;
  uint32_t hlen = 0;
  size_t pos = 8;
  if (u[6] == 1) {
    if (size < 10) {
      error = "'" + name + "': truncated header";
      return false;
    }
    hlen = u[8] | (u[9] << 8);
    pos = 10;
  } else if (u[6] == 2 || u[6] == 3) {
    if (size < 12) {
      error = "'" + name + "': truncated header";
      return false;
    }
    hlen = u[8] | (u[9] << 8) | (u[10] << 16) | ((uint32_t)u[11] << 24);
    pos = 12;
  } else {
    error = "'" + name + "': unsupported .npy version";
    return false;
  }
  if (hlen > (1u << 20)) {
    error = "'" + name + "': header too large";
    return false;
  }
  if (size - pos < hlen) {
    error = "'" + name + "': truncated header";
    return false;
  }
  std::string h(data + pos, hlen);
  pos += hlen;
  std::string descr, order, shape;
  if (!headerField(h, "descr", descr) || !headerField(h, "fortran_order", order) ||
      !headerField(h, "shape", shape)) {
    error = "'" + name + "': malformed header";
    return false;
  }
  if (order.rfind("True", 0) == 0) {
    error = "'" + name + "': Fortran-order arrays are not supported";
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
    error = "'" + name + "': unsupported dtype '" + descr + "'";
    return false;
  }
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')') {
    error = "'" + name + "': bad shape";
    return false;
  }
  out.shape.clear();
  std::string inner = shape.substr(1, shape.size() - 2);
  size_t p = 0;
  while (p < inner.size()) {
    size_t comma = inner.find(',', p);
    std::string part = inner.substr(p, comma == std::string::npos ? std::string::npos
                                                                  : comma - p);
    size_t a = part.find_first_not_of(' ');
    if (a != std::string::npos) {
      part = part.substr(a);
      char *end = nullptr;
      errno = 0;
      long long v = std::strtoll(part.c_str(), &end, 10);
      if (end == part.c_str() || v < 0 || errno == ERANGE) {
        error = "'" + name + "': bad shape";
        return false;
      }
      out.shape.push_back(v);
    }
    if (comma == std::string::npos)
      break;
    p = comma + 1;
  }
  // Size the data from the header only after checking it against what is
  // there, so a corrupt shape cannot ask for an absurd allocation.
  uint64_t available = size - pos;
  uint64_t bytes = qfrt_dtype_size(out.dtype);
  for (int64_t d : out.shape) {
    if (d != 0 && bytes > available / (uint64_t)d + 1) {
      bytes = UINT64_MAX;
      break;
    }
    bytes *= (uint64_t)d;
  }
  if (bytes > available) {
    error = "'" + name + "': truncated data (the header's shape needs more bytes "
            "than the file holds)";
    return false;
  }
  dataOffset = pos;
  return true;
}

bool parseNpy(const char *data, size_t size, const std::string &name, NpyArray &out,
              std::string &error) {
  size_t offset = 0;
  if (!parseNpyHeader(data, size, name, out, offset, error))
    return false;
  out.data.assign(data + offset, data + offset + out.numElements() * qfrt_dtype_size(out.dtype));
  return true;
}

bool readNpy(const std::string &path, NpyArray &out, std::string &error) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) {
    error = "cannot open '" + path + "'";
    return false;
  }
  std::streamoff fileSize = f.tellg();
  if (fileSize < 0) {
    error = "cannot read '" + path + "'";
    return false;
  }
  std::vector<char> buf((size_t)fileSize);
  f.seekg(0);
  if (!f.read(buf.data(), fileSize)) {
    error = "cannot read '" + path + "'";
    return false;
  }
  size_t offset = 0;
  if (!parseNpyHeader(buf.data(), buf.size(), path, out, offset, error))
    return false;
  // Reuse the file's buffer for the array: no second copy of a large input.
  size_t bytes = out.numElements() * qfrt_dtype_size(out.dtype);
  buf.erase(buf.begin(), buf.begin() + (std::ptrdiff_t)offset);
  buf.resize(bytes);
  out.data = std::move(buf);
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
