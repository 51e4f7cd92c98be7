//===- GpuMmaKernels.cpp - the qf-gpu-mma-kernels pass --------------------===//
//
// An 8-bit product of the form in GpuMma.h becomes one gpu.launch running
// it on tensor cores: mma.sync.m16n8k32 (s8/u8 with int32 sums on sm_80 and
// later, E4M3 with f32 sums on sm_89 and later), described first, or with
// the `wgmma` option Hopper's wgmma (sm_90a: tiles copied by cp.async 3
// steps ahead into 5 stages, one step's wgmma in flight while the next is
// issued; see copyStage, wgmmaStep and the loop and shared layout in
// build):
//
//   grid (N/BN, M/BM), one BM x BN tile of C per block, 2x2 or 2x4 warps
//   each holding a (BM/2) x (BN/warpsN) tile of C in registers;
//   per 64-deep K step: the block's A [BM, 64] and B [BN, 64] tiles in
//   shared memory (two stages: the next tile's 16-byte global loads are in
//   flight while the warps multiply the current one, one barrier a step);
//   each warp loads its fragments with 32-bit shared loads and issues
//   (BM/2/16) x (BN/warpsN/8) mma.sync per 32 of K.
//
// Fragment layout (PTX ISA, mma.m16n8k32 with .s8/.u8/.e4m3, the same for
// all 8-bit types and for .s32/.f32 accumulators; g = lane / 4,
// t = lane % 4; a "word" is 4 consecutive k):
//   A regs: (row g, word t), (row g+8, word t), (row g, word t+4),
//           (row g+8, word t+4)
//   B regs: (col g, word t), (col g, word t+4)
//   C regs: (row g, col 2t), (row g, col 2t+1), (row g+8, col 2t),
//           (row g+8, col 2t+1)
// B is stored [N, K] (GpuMma.h), so A and B fragments are both single
// 32-bit loads. A shared row is 64 bytes plus 16 of padding: 20 words, so
// the 32 lanes' loads (rows g, words t) fall in 32 different banks.
//
// Rows past M and columns past N are loaded clamped (their results are
// never stored), a K tail short of 64 is loaded zeroed. The accumulators
// start from C's contents, or from zero when C was just zeroed (a zero
// fill, or a copy of a zero-filled buffer, which bufferization makes of a
// fill shared by several products): the zeroing is then dropped. When C is
// a temporary read only by one elementwise op (the requantization or
// dequantization after an int8 product), that op's body runs on each
// accumulator in the epilogue and C is never written.
//
//===----------------------------------------------------------------------===//
#include "GpuKernels.h"
#include "GpuMma.h"
#include "ConstantInit.h"
#include "qf/Dialect/Qf/Passes.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;

namespace qf {
#define GEN_PASS_DEF_QFGPUMMAKERNELS
#include "qf/Passes.h.inc"

namespace {

constexpr int64_t kStepK = 64;                   // K bytes per stage
constexpr int64_t kRowWords = (kStepK + 16) / 4; // a padded shared row, in words
constexpr int64_t kChunk = 16;                   // bytes per global load
constexpr int64_t kChunksPerRow = kStepK / kChunk;
constexpr int64_t kLookahead = 3; // wgmma: K steps copied ahead of the one multiplied

/// Block tiles: mma.sync's are square, 2x2 or 2x4 warps; with wgmma,
/// warpsM counts warpgroups (each 4 warps over 64 rows and all bn columns)
/// and warpsN is 4.
struct Tiling {
  int64_t bm, bn, warpsM, warpsN;
  int64_t threads() const { return 32 * warpsM * warpsN; }
  int64_t warpRows() const { return bm / warpsM; }
  int64_t warpCols() const { return bn / warpsN; }
};

/// A bm x bn block's warps: wgmma, bm / 64 warpgroups of 64 x bn; mma.sync
/// (square blocks), 2 x bm / 32 warps (64x64: 2x2 of 32x32, 128x128: 2x4 of
/// 64x32).
Tiling tilingOf(int64_t bm, int64_t bn, bool wgmma) {
  return wgmma ? Tiling{bm, bn, bm / 64, 4} : Tiling{bm, bn, 2, bm / 32};
}

/// 128x128 blocks when there are enough of them to fill a large GPU (132
/// SMs on an H100), otherwise 64x64, four times the blocks (the `block`
/// option overrides this: parseBlock).
Tiling chooseTiling(int64_t M, int64_t N, bool wgmma) {
  int64_t side = llvm::divideCeil(M, 128) * llvm::divideCeil(N, 128) >= 132 ? 128 : 64;
  return tilingOf(side, side, wgmma);
}

bool contiguous(Value v) {
  auto t = dyn_cast<MemRefType>(v.getType());
  return t && t.hasStaticShape() && t.getLayout().isIdentity();
}

/// The elementwise op consuming a product's C, when it can run in the
/// kernel's epilogue instead (each C element goes through its body in
/// registers and C is never written): C is a temporary (an allocation read
/// by nothing else, directly or through one expand_shape adding unit dims,
/// [M, N] -> [1, M, N] or [1, M, 1, N] after a broadcast operand's reshape
/// propagated), the op is all-parallel and reads C through the identity
/// map, its output is written whole (its body does not read it), its body
/// is elementwise, and nothing between the product and it touches memory.
struct Epilogue {
  linalg::GenericOp op;
  unsigned cInput;           // which input of `op` is C
  Operation *view = nullptr; // the expand_shape of C it reads, if any
  unsigned rowDim = 0, colDim = 1; // the op's loops over C's rows and columns
};

std::optional<Epilogue> fusableEpilogue(linalg::GenericOp product, Value c, Operation *zeroInit) {
  if (!c.getDefiningOp<memref::AllocOp>())
    return std::nullopt;
  Value read = c;
  Operation *view = nullptr;
  linalg::GenericOp consumer;
  for (Operation *user : c.getUsers()) {
    if (user == product || user == zeroInit || isa<memref::DeallocOp>(user))
      continue; // (the zeroing is folded)
    if (auto expand = dyn_cast<memref::ExpandShapeOp>(user); expand && !view) {
      view = expand;
      read = expand.getResult();
      continue;
    }
    if (auto g = dyn_cast<linalg::GenericOp>(user); g && !consumer) {
      consumer = g;
      continue;
    }
    return std::nullopt;
  }
  if (view) {
    if (consumer || !view->getResult(0).hasOneUse())
      return std::nullopt;
    consumer = dyn_cast<linalg::GenericOp>(*view->getResult(0).getUsers().begin());
  }
  if (!consumer || consumer->getBlock() != product->getBlock() ||
      !product->isBeforeInBlock(consumer) || consumer.getNumDpsInits() != 1 ||
      consumer.getNumParallelLoops() != consumer.getNumLoops() ||
      consumer.hasIndexSemantics() || !consumer.hasPureBufferSemantics() ||
      !consumer.getRegionOutputArgs()[0].use_empty())
    return std::nullopt;
  if (!lowering::hasElementwiseBody(consumer))
    return std::nullopt;
  Epilogue e{consumer, 0, view};
  if (view) {
    // Each of the view's two dim groups (C's rows, C's columns) has at most
    // one dim that is not a unit: that one is the row (column) loop.
    auto expand = cast<memref::ExpandShapeOp>(view);
    ArrayRef<int64_t> shape = expand.getResultType().getShape();
    SmallVector<ReassociationIndices> groups = expand.getReassociationIndices();
    auto pick = [&](const ReassociationIndices &group, unsigned &dim) {
      dim = group.back();
      for (int64_t d : group)
        if (shape[d] != 1)
          dim = d;
      return llvm::count_if(group, [&](int64_t d) { return shape[d] != 1; }) <= 1;
    };
    if (!pick(groups[0], e.rowDim) || !pick(groups[1], e.colDim))
      return std::nullopt;
  }
  std::optional<unsigned> cInput;
  for (OpOperand *in : consumer.getDpsInputOperands())
    if (in->get() == read) {
      if (cInput || !consumer.getMatchingIndexingMap(in).isIdentity())
        return std::nullopt;
      cInput = in->getOperandNumber();
    }
  if (!cInput)
    return std::nullopt;
  e.cInput = *cInput;
  // Indices are evaluated per element: dims and constants only.
  for (AffineMap map : consumer.getIndexingMapsArray())
    if (!llvm::all_of(map.getResults(),
                      [](AffineExpr e) { return isa<AffineDimExpr, AffineConstantExpr>(e); }))
      return std::nullopt;
  Value out = consumer.getDpsInits()[0];
  for (Operation *p = product->getNextNode(); p != consumer; p = p->getNextNode())
    if (!isMemoryEffectFree(p) && !isa<memref::AllocOp>(p))
      return std::nullopt;
  for (Value operand : product.getDpsInputs())
    if (operand == out)
      return std::nullopt;
  return e;
}

class KernelBuilder {
public:
  KernelBuilder(OpBuilder &b, Location loc, const lowering::MmaContraction &op, Tiling tiling,
                bool wgmma)
      : b(b), loc(loc), op(op), tl(tiling), wgmma(wgmma) {
    // wgmma: 5 stages, copies 3 steps ahead (kLookahead) of the step
    // multiplied while the last step's wgmma may still read its own: 42240
    // bytes at 64x64, 83200 at 128x128 (the runtime raises the launch's
    // limit past 48 KB; two blocks still fit an SM's 227 KB).
    if (wgmma)
      stages = kLookahead + 2;
    auto cType = cast<MemRefType>(op.c.getType());
    M = cType.getDimSize(0);
    N = cType.getDimSize(1);
    K = cast<MemRefType>(op.a.getType()).getDimSize(1);
    accElement = cType.getElementType();
  }

  /// The kernel, its accumulators starting from zero (`zeroInit`) or from
  /// C; `epilogue` (or null) is run on each result instead of storing C.
  void build(bool zeroInit, const Epilogue *epilogue);

private:
  Value cst(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return b.createOrFold<arith::AddIOp>(loc, x, y); }
  Value mul(Value x, int64_t y) { return b.createOrFold<arith::MulIOp>(loc, x, cst(y)); }
  Value lt(Value x, int64_t y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, cst(y));
  }

  /// Where the thread's chunk (r, w) (row r of the tile, word w of its 64
  /// bytes) of a [limit, K] operand lies at K step `step`: the row clamped
  /// to the last one, the chunk's k, and the k to read at (clamped to the
  /// last chunk of the row; a chunk past K is zero).
  struct ChunkSource {
    Value row, k, kLoad;
  };
  ChunkSource chunkSource(Value row0, int64_t limit, Value r, Value w, Value step);
  /// The thread's 16-byte chunks of the block's tile of `src` ([limit, K]
  /// i8; the tile's rows start at `row0`) at K step `step`, as
  /// vector<4xi32>: rows past `limit` clamped, k past K zero.
  SmallVector<Value> loadChunks(Value src, Value row0, int64_t limit, Value step);
  /// mma.sync: the chunks into shared-memory stage `stage`.
  void storeChunks(Value smem, Value stage, ValueRange chunks);
  Value mma(ArrayRef<Value> a, ArrayRef<Value> bRegs, Value acc);
  /// wgmma: cp.async of the thread's 16-byte chunks of the block's tiles
  /// of A and B at K step `step` into shared-memory stage `stage` (rows
  /// past M / N clamped, k past K zero-filled), committed as one group.
  /// Returns the group's token.
  Value copyStage(Value smemA, Value smemB, Value m0, Value n0, Value step, Value stage);
  /// One 64-deep step of the warpgroup's wgmma on shared-memory stage
  /// `stage`: two m64n(bn)k32 on A rows [64 wg, +64) and all of B, issued
  /// and committed, not waited for.
  Value wgmmaStep(Value smemBase, Value stage, Value warpgroup, Value acc);
  /// The epilogue op's body on C's element (row, col), its result stored.
  void emitEpilogue(const Epilogue &e, Value row, Value col, Value acc);

  OpBuilder &b;
  Location loc;
  const lowering::MmaContraction &op;
  Tiling tl;
  bool wgmma;
  int64_t M = 0, N = 0, K = 0;
  int64_t stages = 2; // shared-memory stages (wgmma: kLookahead + 2)
  Type accElement;    // C's: i32 or f32
  Value tid;
  /// The thread's chunks of a tile of `rows` rows: (row, word) each.
  SmallVector<std::pair<Value, Value>> chunkPositions(int64_t rows);
  SmallVector<std::pair<Value, Value>> chunksA, chunksB;
};

KernelBuilder::ChunkSource KernelBuilder::chunkSource(Value row0, int64_t limit, Value r, Value w,
                                                     Value step) {
  Value row = arith::MinUIOp::create(b, loc, add(row0, r), cst(limit - 1));
  Value k = add(mul(step, kStepK), mul(w, 4));
  Value kLoad = K % kStepK ? arith::MinUIOp::create(b, loc, k, cst(K - kChunk)).getResult() : k;
  return {row, k, kLoad};
}

SmallVector<std::pair<Value, Value>> KernelBuilder::chunkPositions(int64_t rows) {
  // Chunk i of the thread: rows of kChunksPerRow chunks, consecutive
  // threads along a row (neighbouring 16-byte loads).
  SmallVector<std::pair<Value, Value>> out;
  for (int64_t i = 0; i < rows * kChunksPerRow / tl.threads(); ++i) {
    Value c = add(tid, cst(i * tl.threads()));
    out.push_back({arith::DivUIOp::create(b, loc, c, cst(kChunksPerRow)),
                   mul(arith::RemUIOp::create(b, loc, c, cst(kChunksPerRow)), kChunk / 4)});
  }
  return out;
}

SmallVector<Value> KernelBuilder::loadChunks(Value src, Value row0, int64_t limit, Value step) {
  auto bytes = VectorType::get({kChunk}, b.getI8Type());
  auto words = VectorType::get({kChunk / 4}, b.getI32Type());
  SmallVector<Value> out;
  for (auto [r, w] : chunksA) { // (square tiles: B's rows are assigned alike)
    ChunkSource at = chunkSource(row0, limit, r, w, step);
    Value v = vector::LoadOp::create(b, loc, bytes, src, ValueRange{at.row, at.kLoad},
                                     /*nontemporal=*/false, llvm::MaybeAlign(kChunk));
    if (K % kStepK) {
      Value zero = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(bytes, b.getI8IntegerAttr(0)));
      v = arith::SelectOp::create(b, loc, lt(at.k, K), v, zero);
    }
    out.push_back(vector::BitCastOp::create(b, loc, words, v));
  }
  return out;
}

void KernelBuilder::storeChunks(Value smem, Value stage, ValueRange chunks) {
  for (auto [pos, chunk] : llvm::zip(chunksA, chunks))
    vector::StoreOp::create(b, loc, chunk, smem, ValueRange{stage, pos.first, pos.second},
                            /*nontemporal=*/false, llvm::MaybeAlign(kChunk));
}

Value KernelBuilder::mma(ArrayRef<Value> a, ArrayRef<Value> bRegs, Value acc) {
  SmallVector<Value> c;
  for (int64_t r = 0; r < 4; ++r)
    c.push_back(vector::ExtractOp::create(b, loc, acc, r));
  auto resultType = LLVM::LLVMStructType::getLiteral(b.getContext(), SmallVector<Type>(4, accElement));
  Value res;
  if (op.isFloat()) {
    // NVVM's mma.sync has no fp8 forms: the instruction itself (PTX ISA
    // 8.4, sm_89+). Registers: D (4 f32), A (4 b32), B (2 b32), C (4 f32).
    SmallVector<Value> operands(a);
    llvm::append_range(operands, bRegs);
    llvm::append_range(operands, c);
    res = LLVM::InlineAsmOp::create(
              b, loc, resultType, operands,
              "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {$0, $1, $2, $3}, "
              "{$4, $5, $6, $7}, {$8, $9}, {$10, $11, $12, $13};",
              "=f,=f,=f,=f,r,r,r,r,r,r,f,f,f,f", /*has_side_effects=*/false,
              /*is_align_stack=*/false, LLVM::tailcallkind::TailCallKind::None,
              LLVM::AsmDialectAttr(), ArrayAttr())
              .getResult(0);
  } else {
    using NVVM::MMATypes;
    auto type = [](lowering::MmaElement e) {
      return e == lowering::MmaElement::u8 ? MMATypes::u8 : MMATypes::s8;
    };
    // wrapped: int32 sums wrap like the linalg op's addi (satfinite would clamp).
    res = NVVM::MmaOp::create(
        b, loc, resultType, a, bRegs, c, {16, 8, 32}, std::nullopt, NVVM::MMAIntOverflow::wrapped,
        std::array<MMATypes, 2>{type(op.aElement), type(op.bElement)},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row, NVVM::MMALayout::col});
  }
  SmallVector<Value> d;
  for (int64_t r = 0; r < 4; ++r)
    d.push_back(LLVM::ExtractValueOp::create(b, loc, res, r));
  return vector::FromElementsOp::create(b, loc, cast<VectorType>(acc.getType()), d);
}

Value KernelBuilder::copyStage(Value smemA, Value smemB, Value m0, Value n0, Value step,
                               Value stage) {
  SmallVector<Value> tokens;
  auto copy = [&](Value src, Value smem, Value row0, int64_t limit,
                  ArrayRef<std::pair<Value, Value>> chunks) {
    for (auto [r, w] : chunks) {
      ChunkSource at = chunkSource(row0, limit, r, w, step);
      Value column = arith::DivUIOp::create(b, loc, w, cst(4));
      // Past K: nothing read (the address kept inside the row), 16 zeros written.
      Value bytes = K % kStepK ? arith::SelectOp::create(b, loc, lt(at.k, K), cst(kChunk), cst(0)).getResult()
                               : Value();
      tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
          b, loc, smem, ValueRange{stage, column, mul(r, kChunk)}, src, ValueRange{at.row, at.kLoad},
          b.getIndexAttr(kChunk), bytes, b.getUnitAttr()));
    }
  };
  copy(op.a, smemA, m0, M, chunksA);
  copy(op.b, smemB, n0, N, chunksB);
  return nvgpu::DeviceAsyncCreateGroupOp::create(b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()),
                                                 tokens);
}

/// A wgmma shared-memory matrix descriptor (PTX ISA, "Matrix Descriptor
/// Format"; no swizzle): start address, leading byte offset (between core
/// matrices adjacent in K) and stride byte offset (adjacent in M or N),
/// each in 16-byte units.
static Value wgmmaDescriptor(OpBuilder &b, Location loc, Value address, int64_t leading,
                             int64_t stride) {
  Type i64 = b.getI64Type();
  auto c = [&](int64_t v) { return arith::ConstantIntOp::create(b, loc, i64, v); };
  Value start = arith::AndIOp::create(b, loc, arith::ShRUIOp::create(b, loc, address, c(4)),
                                      c(0x3FFF));
  return arith::OrIOp::create(b, loc, start, c(((leading >> 4) << 16) | ((stride >> 4) << 32)));
}

Value KernelBuilder::wgmmaStep(Value smemBase, Value stage, Value warpgroup, Value acc) {
  Type i64 = b.getI64Type();
  auto c = [&](int64_t v) { return arith::ConstantIntOp::create(b, loc, i64, v); };
  int64_t leadA = tl.bm * 16 + 32, leadB = tl.bn * 16 + 32;
  Value stage64 = arith::IndexCastOp::create(b, loc, i64, stage);
  Value baseA = arith::AddIOp::create(b, loc, smemBase,
                                      arith::MulIOp::create(b, loc, stage64, c(4 * leadA)));
  // A's rows of this warpgroup: 64 rows of 16 bytes further.
  baseA = arith::AddIOp::create(
      b, loc, baseA,
      arith::MulIOp::create(b, loc, arith::IndexCastOp::create(b, loc, i64, warpgroup), c(64 * 16)));
  Value baseB = arith::AddIOp::create(
      b, loc, c(stages * 4 * leadA),
      arith::AddIOp::create(b, loc, smemBase, arith::MulIOp::create(b, loc, stage64, c(4 * leadB))));
  bool e4m3 = op.isFloat();
  auto type = [&](lowering::MmaElement e) {
    return e == lowering::MmaElement::e4m3 ? NVVM::WGMMATypes::e4m3
           : e == lowering::MmaElement::u8 ? NVVM::WGMMATypes::u8
                                           : NVVM::WGMMATypes::s8;
  };
  NVVM::WgmmaFenceAlignedOp::create(b, loc);
  for (int64_t kk = 0; kk < kStepK / 32; ++kk) {
    // k 32 kk .. 32 kk + 31: the 16-byte columns 2 kk and 2 kk + 1.
    Value descA = wgmmaDescriptor(b, loc, arith::AddIOp::create(b, loc, baseA, c(2 * kk * leadA)),
                                  leadA, 128);
    Value descB = wgmmaDescriptor(b, loc, arith::AddIOp::create(b, loc, baseB, c(2 * kk * leadB)),
                                  leadB, 128);
    acc = NVVM::WgmmaMmaAsyncOp::create(
        b, loc, acc.getType(), acc, descA, descB,
        NVVM::MMAShapeAttr::get(b.getContext(), 64, tl.bn, 32), type(op.aElement), type(op.bElement),
        e4m3 ? NVVM::WGMMATypes::f32 : NVVM::WGMMATypes::s32, NVVM::WGMMAScaleOut::one,
        NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one, NVVM::MMALayout::row,
        NVVM::MMALayout::col, /*satfinite=*/nullptr);
  }
  NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
  return acc;
}

void KernelBuilder::build(bool zeroInit, const Epilogue *epilogue) {
  MLIRContext *ctx = b.getContext();
  Type i32 = b.getI32Type();
  auto wg = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  // mma.sync: [stage][row][80 bytes] as i32, a row's 64 bytes and 16 of
  // padding. wgmma: [stage][16-byte column][rows x 16 bytes + 32] bytes:
  // the core matrices (8 rows x 16 bytes) of rows 8i..8i+7 are 128 bytes
  // apart (the stride byte offset), a row's next 16 bytes a column further
  // (the leading byte offset: 16 bm + 32, the padding puts the 4 threads
  // copying one row's columns in different banks).
  auto space = [&](int64_t rows) {
    if (wgmma)
      return MemRefType::get({stages, kChunksPerRow, rows * kChunk + 32}, b.getI8Type(),
                             MemRefLayoutAttrInterface(), wg);
    return MemRefType::get({2, rows, kRowWords}, i32, MemRefLayoutAttrInterface(), wg);
  };
  auto smemA = space(tl.bm), smemB = space(tl.bn);
  int64_t bytesA = smemA.getNumElements() * smemA.getElementTypeBitWidth() / 8;
  int64_t bytesB = smemB.getNumElements() * smemB.getElementTypeBitWidth() / 8;
  Value one = cst(1);
  // Dynamic shared memory: its symbol is 16-byte aligned, as the 16-byte
  // chunk stores need (a workgroup attribution of i32 is aligned to 4).
  Value smemBytes = arith::ConstantIntOp::create(b, loc, i32, bytesA + bytesB);
  OpBuilder::InsertionGuard guard(b);
  auto launch = lowering::createLaunch(b, loc, cst(llvm::divideCeil(N, tl.bn)),
                                       cst(llvm::divideCeil(M, tl.bm)), cst(tl.threads()), smemBytes);
  Value smem = gpu::DynamicSharedMemoryOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), MemRefLayoutAttrInterface(), wg));
  Value As = memref::ViewOp::create(b, loc, smemA, smem, cst(0), ValueRange{});
  Value Bs = memref::ViewOp::create(b, loc, smemB, smem, cst(bytesA), ValueRange{});
  // After the tiles' writes, before the barrier: wgmma reads shared memory
  // through the async proxy, which writes by threads must be fenced for.
  auto syncStores = [&] {
    if (wgmma)
      NVVM::FenceProxyOp::create(b, loc, NVVM::ProxyKind::async_shared,
                                 NVVM::SharedSpaceAttr::get(ctx, NVVM::SharedSpace::shared_cta));
    gpu::BarrierOp::create(b, loc);
  };

  tid = launch.getThreadIds().x;
  Value c32 = cst(32), c4 = cst(4);
  Value warp = arith::DivUIOp::create(b, loc, tid, c32);
  Value lane = arith::RemUIOp::create(b, loc, tid, c32);
  Value g = arith::DivUIOp::create(b, loc, lane, c4);
  Value t = arith::RemUIOp::create(b, loc, lane, c4);
  Value wm = arith::DivUIOp::create(b, loc, warp, cst(tl.warpsN));
  Value wn = arith::RemUIOp::create(b, loc, warp, cst(tl.warpsN));
  Value m0 = mul(launch.getBlockIds().y, tl.bm), n0 = mul(launch.getBlockIds().x, tl.bn);

  chunksA = chunkPositions(tl.bm);
  chunksB = chunkPositions(tl.bn);
  int64_t steps = llvm::divideCeil(K, kStepK);
  Value zero = cst(0);
  // wgmma: the first kLookahead steps' copies in flight (past the last
  // step, its copy again: no branch).
  Value group;
  for (int64_t s = 0; wgmma && s < kLookahead; ++s)
    group = copyStage(As, Bs, m0, n0, cst(std::min(s, steps - 1)), cst(s));
  if (!wgmma) {
    SmallVector<Value> a = loadChunks(op.a, m0, M, zero);
    SmallVector<Value> bc = loadChunks(op.b, n0, N, zero);
    storeChunks(As, zero, a);
    storeChunks(Bs, zero, bc);
    syncStores();
  }

  // The thread's accumulators as (i, j) tiles of 16 x 8 (m16n8 fragments,
  // register r of a tile at (row g + 8 (r / 2), column 2 t + r % 2)): for
  // mma.sync a vector<4> per tile; for wgmma the warp's 16 rows of its
  // warpgroup's 64 x bn, one struct of bn / 2 values, tile j at 4 j.
  int64_t mTiles = wgmma ? 1 : tl.warpRows() / 16, nTiles = tl.warpCols() / 8;
  Value rowBase = add(m0, mul(wm, tl.warpRows())), colBase = add(n0, mul(wn, tl.warpCols()));
  if (wgmma) {
    rowBase = add(m0, mul(warp, 16));
    colBase = n0;
    nTiles = tl.bn / 8;
  }
  auto accType = VectorType::get({4}, accElement);
  auto structType =
      LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(nTiles * 4, accElement));
  auto cRow = [&](int64_t i, int64_t r) { return add(add(rowBase, cst(i * 16 + 8 * (r / 2))), g); };
  auto cCol = [&](int64_t j, int64_t r) { return add(add(colBase, cst(j * 8 + r % 2)), mul(t, 2)); };
  auto element = [&](ValueRange accs, int64_t i, int64_t j, int64_t r) -> Value {
    if (wgmma)
      return LLVM::ExtractValueOp::create(b, loc, accs[0], j * 4 + r);
    return vector::ExtractOp::create(b, loc, accs[i * nTiles + j], r);
  };
  SmallVector<Value> acc;
  if (wgmma)
    acc.push_back(LLVM::ZeroOp::create(b, loc, structType));
  for (int64_t i = 0; i < mTiles; ++i)
    for (int64_t j = 0; j < nTiles; ++j) {
      if (zeroInit) {
        if (!wgmma) // (wgmma's struct starts at zero above)
          acc.push_back(arith::ConstantOp::create(b, loc, b.getZeroAttr(accType)));
        continue;
      }
      SmallVector<Value> init;
      for (int64_t r = 0; r < 4; ++r) {
        Value row = cRow(i, r), col = cCol(j, r);
        Value in = arith::AndIOp::create(b, loc, lt(row, M), lt(col, N));
        Value v = memref::LoadOp::create(
            b, loc, op.c,
            ValueRange{arith::MinUIOp::create(b, loc, row, cst(M - 1)),
                       arith::MinUIOp::create(b, loc, col, cst(N - 1))});
        init.push_back(arith::SelectOp::create(
            b, loc, in, v, arith::ConstantOp::create(b, loc, b.getZeroAttr(accElement))));
      }
      if (wgmma) {
        for (int64_t r = 0; r < 4; ++r)
          acc[0] = LLVM::InsertValueOp::create(b, loc, acc[0], init[r], j * 4 + r);
        continue;
      }
      acc.push_back(vector::FromElementsOp::create(b, loc, accType, init));
    }
  Value smemBase;
  if (wgmma)
    smemBase = arith::IndexCastOp::create(
        b, loc, b.getI64Type(), memref::ExtractAlignedPointerAsIndexOp::create(b, loc, smem));

  auto loop = scf::ForOp::create(b, loc, zero, cst(steps), one, acc,
                                 [](OpBuilder &nb, Location l, Value, ValueRange args) {
                                   scf::YieldOp::create(nb, l, args);
                                 });
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  {
    OpBuilder::InsertionGuard inLoop(b);
    b.setInsertionPoint(yield);
    Value step = loop.getInductionVar();
    SmallVector<Value> accs(loop.getRegionIterArgs());
    if (wgmma) {
      // Step s: its copies done (at most kLookahead - 1 groups, the later
      // steps', still in flight) for every thread (the barrier). Each
      // warpgroup left step s - 1 with only that step's wgmma in flight,
      // so past the barrier every warpgroup is done reading step s - 2's
      // stage, which step s + kLookahead's copies (kLookahead + 2 stages)
      // overwrite. Then step s's wgmma is issued and step s - 1's waited
      // for: the tensor cores always have the next step queued. (The
      // copies' wait token is not used by its lowering: the count says it
      // all.)
      nvgpu::DeviceAsyncWaitOp::create(b, loc, group, b.getI32IntegerAttr(kLookahead - 1));
      syncStores();
      Value ahead = add(step, cst(kLookahead));
      copyStage(As, Bs, m0, n0, arith::MinUIOp::create(b, loc, ahead, cst(steps - 1)),
                arith::RemUIOp::create(b, loc, ahead, cst(stages)));
      accs[0] = wgmmaStep(smemBase, arith::RemUIOp::create(b, loc, step, cst(stages)), wm, accs[0]);
      NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 1);
    } else {
      Value cur = arith::RemUIOp::create(b, loc, step, cst(2));
      Value next = arith::SubIOp::create(b, loc, one, cur);
      // The next step's tile (the last step reloads its own: no branch).
      Value nextStep = arith::MinUIOp::create(b, loc, add(step, one), cst(steps - 1));
      SmallVector<Value> nextA = loadChunks(op.a, m0, M, nextStep);
      SmallVector<Value> nextB = loadChunks(op.b, n0, N, nextStep);
      for (int64_t ks = 0; ks < kStepK / 32; ++ks) {
        Value word = add(t, cst(ks * 8));
        Value word4 = add(word, c4);
        auto ld = [&](Value smem, Value row, Value w) {
          return memref::LoadOp::create(b, loc, smem, ValueRange{cur, row, w}).getResult();
        };
        SmallVector<SmallVector<Value>> aRegs, bRegs;
        for (int64_t i = 0; i < mTiles; ++i) {
          Value row = add(mul(wm, tl.warpRows()), add(g, cst(i * 16)));
          Value row8 = add(row, cst(8));
          aRegs.push_back({ld(As, row, word), ld(As, row8, word), ld(As, row, word4), ld(As, row8, word4)});
        }
        for (int64_t j = 0; j < nTiles; ++j) {
          Value row = add(mul(wn, tl.warpCols()), add(g, cst(j * 8)));
          bRegs.push_back({ld(Bs, row, word), ld(Bs, row, word4)});
        }
        for (int64_t i = 0; i < mTiles; ++i)
          for (int64_t j = 0; j < nTiles; ++j)
            accs[i * nTiles + j] = mma(aRegs[i], bRegs[j], accs[i * nTiles + j]);
      }
      storeChunks(As, next, nextA);
      storeChunks(Bs, next, nextB);
      syncStores();
    }
    yield->setOperands(accs);
  }
  if (wgmma) // the last step's wgmma, before its accumulators are read
    NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);

  bool guardRows = M % tl.bm != 0, guardCols = N % tl.bn != 0;
  // Opens an scf.if on (row, col) being inside C where the grid overhangs.
  auto guardPoint = [&](Value row, Value col, bool cols) {
    Value in = guardRows ? lt(row, M) : Value();
    if (cols) {
      Value colIn = lt(col, N);
      in = in ? arith::AndIOp::create(b, loc, in, colIn).getResult() : colIn;
    }
    if (!in)
      return;
    auto ifOp = scf::IfOp::create(b, loc, in, /*withElseRegion=*/false);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  };
  SmallVector<Value> results(loop.getResults());
  for (int64_t i = 0; i < mTiles; ++i)
    for (int64_t j = 0; j < nTiles; ++j) {
      if (epilogue) {
        for (int64_t r = 0; r < 4; ++r) {
          OpBuilder::InsertionGuard inStore(b);
          Value row = cRow(i, r), col = cCol(j, r);
          Value v = element(results, i, j, r);
          guardPoint(row, col, guardCols || N % 2 != 0);
          emitEpilogue(*epilogue, row, col, v);
        }
        continue;
      }
      // Each register pair (r, r + 1) is two neighbouring columns of one row.
      for (int64_t r = 0; r < 4; r += 2) {
        Value row = cRow(i, r), col = cCol(j, r);
        OpBuilder::InsertionGuard inStore(b);
        Value v0 = element(results, i, j, r), v1 = element(results, i, j, r + 1);
        guardPoint(row, col, guardCols);
        if (N % 2 == 0) {
          Value pair = vector::FromElementsOp::create(b, loc, VectorType::get({2}, accElement),
                                                      ValueRange{v0, v1});
          vector::StoreOp::create(b, loc, pair, op.c, ValueRange{row, col}, false, llvm::MaybeAlign(8));
          continue;
        }
        // An odd N: the pair's second column may be past the end.
        memref::StoreOp::create(b, loc, v0, op.c, ValueRange{row, col});
        Value col1 = add(col, one);
        auto second = scf::IfOp::create(b, loc, lt(col1, N), false);
        b.setInsertionPointToStart(&second.getThenRegion().front());
        memref::StoreOp::create(b, loc, v1, op.c, ValueRange{row, col1});
      }
    }
}

void KernelBuilder::emitEpilogue(const Epilogue &e, Value row, Value col, Value acc) {
  linalg::GenericOp g = e.op;
  // Every loop but C's row and column ones is a unit dim (null: 0).
  SmallVector<Value> point(g.getNumLoops());
  point[e.rowDim] = row;
  point[e.colDim] = col;
  auto at = [&](OpOperand *operand) {
    return lowering::indicesAt(b, loc, g.getMatchingIndexingMap(operand), point);
  };
  Block &body = g.getRegion().front();
  IRMapping map;
  for (OpOperand *in : g.getDpsInputOperands()) {
    BlockArgument arg = g.getMatchingBlockArgument(in);
    if (in->getOperandNumber() == e.cInput)
      map.map(arg, acc);
    else if (!arg.use_empty())
      map.map(arg, memref::LoadOp::create(b, loc, in->get(), at(in)).getResult());
  }
  for (Operation &o : body.without_terminator())
    b.clone(o, map);
  OpOperand *out = g.getDpsInitOperand(0);
  memref::StoreOp::create(b, loc, map.lookup(body.getTerminator()->getOperand(0)), out->get(),
                          at(out));
}

/// The `block` option, "MxN": with wgmma M of 64, 128 or 256 (1, 2 or 4
/// warpgroups) and N of 64, 128 or 256, every thread copying whole chunks
/// of both tiles (2N a multiple of M), but not 256x256 (512 threads get
/// 128 registers each; m64n256 has 128 accumulators alone); mma.sync 64x64
/// or 128x128. Empty: chooseTiling decides.
FailureOr<std::optional<Tiling>> parseBlock(StringRef text, bool wgmma) {
  if (text.empty())
    return std::optional<Tiling>();
  auto [ms, ns] = text.split('x');
  int64_t bm = 0, bn = 0;
  if (ms.getAsInteger(10, bm) || ns.getAsInteger(10, bn))
    return failure();
  auto ok = [](int64_t v) { return v == 64 || v == 128 || v == 256; };
  bool valid = wgmma ? ok(bm) && ok(bn) && (2 * bn) % bm == 0 && !(bm == 256 && bn == 256)
                     : bm == bn && (bm == 64 || bm == 128);
  if (!valid)
    return failure();
  return std::optional<Tiling>(tilingOf(bm, bn, wgmma));
}

struct QfGpuMmaKernelsPass : impl::QfGpuMmaKernelsBase<QfGpuMmaKernelsPass> {
  using Base::Base;
  void runOnOperation() override {
    FailureOr<std::optional<Tiling>> forced = parseBlock(block, wgmma);
    if (failed(forced)) {
      getOperation().emitError() << "qf-gpu-mma-kernels: unsupported block '" << block
                                 << (wgmma ? "' (wgmma: MxN, M and N of 64, 128, 256, 2N a multiple of M, not 256x256)"
                                           : "' (mma.sync: 64x64 or 128x128)");
      return signalPassFailure();
    }
    SmallVector<std::pair<linalg::GenericOp, lowering::MmaContraction>> work;
    getOperation().walk([&](linalg::GenericOp op) {
      std::optional<lowering::MmaContraction> m = lowering::matchMmaContraction(op);
      if (m && op.hasPureBufferSemantics() && contiguous(m->a) && contiguous(m->b) &&
          contiguous(m->c) && cast<MemRefType>(m->a.getType()).getDimSize(1) % kChunk == 0)
        work.push_back({op, *m});
    });
    for (auto [op, m] : work) {
      Operation *zeroInit = lowering::zeroInitOf(op, m.c);
      // Fused only when C starts from zero: C is never read or written then.
      std::optional<Epilogue> epilogue =
          zeroInit ? fusableEpilogue(op, m.c, zeroInit) : std::optional<Epilogue>();
      // What lies between the product and its epilogue (allocations, views:
      // nothing touching memory) moves before the kernel, which uses it.
      if (epilogue)
        for (Operation *p = op->getNextNode(); p != epilogue->op;) {
          Operation *next = p->getNextNode();
          p->moveBefore(op);
          p = next;
        }
      OpBuilder b(op);
      auto cType = cast<MemRefType>(m.c.getType());
      Tiling tiling = forced->value_or(chooseTiling(cType.getDimSize(0), cType.getDimSize(1), wgmma));
      KernelBuilder(b, op.getLoc(), m, tiling, wgmma)
          .build(/*zeroInit=*/zeroInit != nullptr, epilogue ? &*epilogue : nullptr);
      if (zeroInit)
        lowering::eraseConstantInit(zeroInit);
      op.erase();
      if (!epilogue)
        continue;
      // C is gone: its consumer ran in the kernel.
      epilogue->op.erase();
      if (epilogue->view)
        epilogue->view->erase();
      for (Operation *user : llvm::make_early_inc_range(m.c.getUsers()))
        if (isa<memref::DeallocOp>(user))
          user->erase();
      if (m.c.use_empty())
        m.c.getDefiningOp()->erase();
    }
  }
};
} // namespace
} // namespace qf
