// oneDNN's matmul, the peer of scripts/bench.py's GEMM workloads:
//   int8: u8 [M, K] (zero point 128) x s8 [K, N] -> s8 [M, N] with
//         per-output-channel scales (our QDQ MatMul's product and requant);
//   f32:  f32 x f32 -> f32;  bf16: bf16 x bf16 -> f32.
// The weight is reordered into oneDNN's own blocked layout once (as ours is
// packed at compile time). Prints the median milliseconds of RUNS runs after
// warm-up. Build: c++ -O2 onednn_gemm.cpp -ldnnl; threads from
// OMP_NUM_THREADS; ONEDNN_MAX_CPU_ISA limits the ISA (AVX512_CORE_VNNI: no AMX).
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char **argv) {
  std::string type = argc == 6 ? argv[1] : "";
  if (type != "int8" && type != "f32" && type != "bf16") {
    std::fprintf(stderr, "usage: onednn_gemm int8|f32|bf16 M K N RUNS\n");
    return 1;
  }
  long M = std::atol(argv[2]), K = std::atol(argv[3]), N = std::atol(argv[4]);
  int runs = std::atoi(argv[5]);
  using namespace dnnl;
  using dt = memory::data_type;
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  dt ta = type == "int8" ? dt::u8 : type == "bf16" ? dt::bf16 : dt::f32;
  dt tb = type == "int8" ? dt::s8 : ta;
  dt tc = type == "int8" ? dt::s8 : dt::f32;
  memory::desc a({M, K}, ta, memory::format_tag::ab);
  memory::desc b({K, N}, tb, memory::format_tag::any);
  memory::desc c({M, N}, tc, memory::format_tag::ab);
  primitive_attr attr;
  if (type == "int8") {
    attr.set_output_scales(2, std::vector<float>(N, 0.001f));
    attr.set_zero_points(DNNL_ARG_SRC, 0, {128});
  }
  matmul::primitive_desc pd(matmul::desc(a, b, c), attr, eng);
  memory bPlain({{K, N}, tb, memory::format_tag::ab}, eng);
  std::memset(bPlain.get_data_handle(), type == "int8" ? 3 : 0x3c, K * N * memory::data_type_size(tb));
  memory bm(pd.weights_desc(), eng);
  reorder(bPlain, bm).execute(s, bPlain, bm);
  memory am(a, eng), cm(c, eng);
  std::memset(am.get_data_handle(), type == "int8" ? 130 : 0x3c, M * K * memory::data_type_size(ta));
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
