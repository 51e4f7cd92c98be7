// oneDNN's int8 GEMM, the peer of scripts/bench.py's int8 workload:
// u8 [M, K] (zero point 128) x s8 [K, N] -> s8 [M, N] with per-output-channel
// scales, the same product and requantization as our QLinearMatMul.
// Prints the median milliseconds of RUNS runs after warm-up.
// Build: c++ -O2 onednn_int8_gemm.cpp -ldnnl; threads from OMP_NUM_THREADS.
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char **argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: onednn_int8_gemm M K N RUNS\n");
    return 1;
  }
  long M = std::atol(argv[1]), K = std::atol(argv[2]), N = std::atol(argv[3]);
  int runs = std::atoi(argv[4]);
  using namespace dnnl;
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  memory::desc a({M, K}, memory::data_type::u8, memory::format_tag::ab);
  memory::desc b({K, N}, memory::data_type::s8, memory::format_tag::any);
  memory::desc c({M, N}, memory::data_type::s8, memory::format_tag::ab);
  primitive_attr attr;
  attr.set_output_scales(2, std::vector<float>(N, 0.001f));
  attr.set_zero_points(DNNL_ARG_SRC, 0, {128});
  matmul::primitive_desc pd(matmul::desc(a, b, c), attr, eng);
  // The weight is reordered into oneDNN's own blocked layout once, as ours
  // is packed at compile time.
  memory bPlain({{K, N}, memory::data_type::s8, memory::format_tag::ab}, eng);
  std::memset(bPlain.get_data_handle(), 3, K * N);
  memory bm(pd.weights_desc(), eng);
  reorder(bPlain, bm).execute(s, bPlain, bm);
  memory am(a, eng), cm(c, eng);
  std::memset(am.get_data_handle(), 130, M * K);
  matmul mm(pd);
  auto once = [&] {
    mm.execute(s, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
    s.wait();
  };
  for (int i = 0; i < 3; ++i)
    once();
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    once();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  std::printf("%.4f\n", ms[ms.size() / 2]);
  return 0;
}
