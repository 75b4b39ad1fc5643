// Fused training-mode batch normalisation (+ optional residual add, + optional ReLU) for
// channels-last float32 tensors, with its own backward.
//
// Why: in the product's training step (and PyTorch's), ATen's channels-last batch_norm,
// batch_norm_backward and threshold_backward were 55-60% of the CPU time of small-cnn and the
// ResNets (bench/README.md, "Fused BatchNorm"): each is a separate pass over the activation, and
// ReLU's backward on channels-last tensors runs 4x slower than on NCHW ones here. One kernel
// reads the activation once for the statistics and once to normalise, shift, add the shortcut
// and clamp; its backward reads the gradient, output and input once for the reductions and once
// for the input gradient.
//
// Numerics: batch mean and biased variance per channel (the normalisation), unbiased variance for
// the running estimate, exactly as torch.nn.BatchNorm2d in training mode. The rows (N*H*W) are cut
// into chunks whose size depends only on the channel count; each chunk's partial statistics are
// computed in float inside the chunk and merged in double, in chunk order (Chan et al.'s pairwise
// formula). So the result does not depend on the number of threads or on how they are scheduled:
// the same inputs give the same bits with 1 or 16 threads.
#include "fused.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace bt {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Scratch arrays of the kernels, padded by 256 bytes on each side.
//
// Why: GCC vectorises the per-channel loops with a runtime overlap check between the arrays a loop
// writes and the ones it reads (restrict notwithstanding), and runs a scalar copy of the loop when
// two of them lie within a vector's width of each other. The scalar copy contracts the products
// and sums into FMAs differently, so its results differ in the last bit. Whether two small heap
// blocks end up adjacent depends on the order in which the threads (sharing one malloc arena)
// allocated and freed before: the same inputs then gave different gradients now and then, and a
// training run resumed from a checkpoint did not end with the uninterrupted run's weights
// (test/train/interruption.test.ts, about one run in five under load). With every small array a
// kernel loop touches one of these (the tensors it streams are far larger than a vector), no two
// of them are ever that close, and the vector code always runs.
template <typename T>
class Padded {
 public:
  static constexpr size_t kPad = 256 / sizeof(T);
  Padded() : Padded(0) {}
  explicit Padded(size_t n, T v = T()) : buf_(n + 2 * kPad, v), n_(n) {}
  Padded(const T* src, size_t n) : Padded(n) { std::copy(src, src + n, data()); }
  T* data() { return buf_.data() + kPad; }
  const T* data() const { return buf_.data() + kPad; }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }
  size_t size() const { return n_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + n_; }
  void resize(size_t n) { buf_.assign(n + 2 * kPad, T()), n_ = n; }

 private:
  std::vector<T> buf_;
  size_t n_;
};

// Rows per chunk: about 16 K floats, so a chunk's rows stay in L1/L2 between its two passes.
int64_t ChunkRows(int64_t C) { return std::max<int64_t>(1, 16384 / C); }

#define BT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define BT_INLINE inline __attribute__((always_inline))

// Each kernel is a template on the channel count (0: known only at run time) so that the common
// widths get an inner loop the compiler vectorises without remainder; the BT_CLONES entry points
// pick the width and are compiled for AVX-512, AVX2 and plain x86-64 (chosen at load time).
#define BT_DISPATCH_C(C, CALL)      \
  switch (C) {                      \
    case 16: CALL(16); break;       \
    case 32: CALL(32); break;       \
    case 64: CALL(64); break;       \
    case 128: CALL(128); break;     \
    case 256: CALL(256); break;     \
    default: CALL(0); break;        \
  }

// Per chunk: mean and sum of squared deviations (M2) of each channel, in float.
template <int CC>
BT_INLINE void ChunkStatsT(const float* __restrict x, int64_t rows, int64_t Crt, float* __restrict mean,
                           float* __restrict m2) {
  const int64_t C = CC > 0 ? CC : Crt;
  for (int64_t c = 0; c < C; c++) mean[c] = 0.f, m2[c] = 0.f;
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * C;
    for (int64_t c = 0; c < C; c++) mean[c] += xr[c];
  }
  const float inv = 1.f / static_cast<float>(rows);
  for (int64_t c = 0; c < C; c++) mean[c] *= inv;
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * C;
    for (int64_t c = 0; c < C; c++) {
      const float d = xr[c] - mean[c];
      m2[c] += d * d;
    }
  }
}
// Fewer than 16 channels that divide 16 (1, 2, 4, 8: ResNets at width 0.25): the chunk is read
// as rows of 16 floats, each lane j holding channel j % C, with the per-channel constants
// repeated to 16 lanes, so the 16-wide kernels apply; lane results are folded back per channel.
bool Periodic(int64_t rows, int64_t C) { return C < 16 && 16 % C == 0 && (rows * C) % 16 == 0; }
void Repeat16(const float* v, int64_t C, float* out) {
  for (int j = 0; j < 16; j++) out[j] = v[j % C];
}
void Fold16(const float* lanes, int64_t C, float* out) {
  for (int64_t c = 0; c < C; c++) out[c] = 0.f;
  for (int j = 0; j < 16; j++) out[j % C] += lanes[j];
}

BT_CLONES void ChunkStats(const float* x, int64_t rows, int64_t C, float* mean, float* m2) {
  if (Periodic(rows, C)) {
    const int64_t v = rows * C / 16;
    float s16[16], m16[16], q16[16];
    for (int j = 0; j < 16; j++) s16[j] = 0.f, q16[j] = 0.f;
    for (int64_t r = 0; r < v; r++)
      for (int j = 0; j < 16; j++) s16[j] += x[r * 16 + j];
    Fold16(s16, C, mean);
    for (int64_t c = 0; c < C; c++) mean[c] /= static_cast<float>(rows);
    Repeat16(mean, C, m16);
    for (int64_t r = 0; r < v; r++)
      for (int j = 0; j < 16; j++) {
        const float d = x[r * 16 + j] - m16[j];
        q16[j] += d * d;
      }
    Fold16(q16, C, m2);
    return;
  }
#define BT_CALL(K) ChunkStatsT<K>(x, rows, C, mean, m2)
  BT_DISPATCH_C(C, BT_CALL)
#undef BT_CALL
}

// The normalised value z = (x - mean) * scale + shift (centred first: no cancellation near zero).
// Forward and backward compute it with this one expression, so the ReLU mask the backward
// recomputes from x is the forward's.
#define BT_Z(xr, c) ((xr[c] - mean[c]) * scale[c] + shift[c])

// y = [relu](z [+ res]).
template <int CC>
BT_INLINE void ApplyRowsT(const float* __restrict x, const float* __restrict res, float* __restrict y, int64_t rows,
                          int64_t Crt, const float* __restrict mean, const float* __restrict scale,
                          const float* __restrict shift, bool relu) {
  const int64_t C = CC > 0 ? CC : Crt;
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    if (res != nullptr) {
      const float* rr = res + r * C;
      if (relu)
        for (int64_t c = 0; c < C; c++) yr[c] = std::max(BT_Z(xr, c) + rr[c], 0.f);
      else
        for (int64_t c = 0; c < C; c++) yr[c] = BT_Z(xr, c) + rr[c];
    } else if (relu) {
      for (int64_t c = 0; c < C; c++) yr[c] = std::max(BT_Z(xr, c), 0.f);
    } else {
      for (int64_t c = 0; c < C; c++) yr[c] = BT_Z(xr, c);
    }
  }
}
BT_CLONES void ApplyRows(const float* x, const float* res, float* y, int64_t rows, int64_t C, const float* mean,
                         const float* scale, const float* shift, bool relu) {
  if (Periodic(rows, C)) {
    float m16[16], s16[16], h16[16];
    Repeat16(mean, C, m16), Repeat16(scale, C, s16), Repeat16(shift, C, h16);
    ApplyRowsT<16>(x, res, y, rows * C / 16, 16, m16, s16, h16, relu);
    return;
  }
#define BT_CALL(K) ApplyRowsT<K>(x, res, y, rows, C, mean, scale, shift, relu)
  BT_DISPATCH_C(C, BT_CALL)
#undef BT_CALL
}

// The gradient reaching the normalisation: gy where the ReLU passed (y > 0; recomputed from x as
// z > 0 when there is no shortcut, so y need not be read), gy itself without ReLU.
#define BT_G(c) (!relu ? gr[c] : (yr != nullptr ? (yr[c] > 0.f ? gr[c] : 0.f) : (BT_Z(xr, c) > 0.f ? gr[c] : 0.f)))

// Backward reductions of one chunk: sg = sum g, sgx = sum g * (x - mean); g stored to gout when
// it is not null (the shortcut's gradient).
template <int CC>
BT_INLINE void ChunkGradSumsT(const float* __restrict gy, const float* __restrict y, const float* __restrict x,
                              float* __restrict gout, int64_t rows, int64_t Crt, const float* __restrict mean,
                              const float* __restrict scale, const float* __restrict shift, bool relu,
                              float* __restrict sg, float* __restrict sgx) {
  const int64_t C = CC > 0 ? CC : Crt;
  for (int64_t c = 0; c < C; c++) sg[c] = 0.f, sgx[c] = 0.f;
  for (int64_t r = 0; r < rows; r++) {
    const float* gr = gy + r * C;
    const float* yr = y != nullptr ? y + r * C : nullptr;
    const float* xr = x + r * C;
    if (gout != nullptr) {
      float* orow = gout + r * C;
      for (int64_t c = 0; c < C; c++) {
        const float g = BT_G(c);
        orow[c] = g;
        sg[c] += g;
        sgx[c] += g * (xr[c] - mean[c]);
      }
    } else {
      for (int64_t c = 0; c < C; c++) {
        const float g = BT_G(c);
        sg[c] += g;
        sgx[c] += g * (xr[c] - mean[c]);
      }
    }
  }
}
BT_CLONES void ChunkGradSums(const float* gy, const float* y, const float* x, float* gout, int64_t rows, int64_t C,
                             const float* mean, const float* scale, const float* shift, bool relu, float* sg,
                             float* sgx) {
  if (Periodic(rows, C)) {
    float m16[16], s16[16], h16[16], g16[16], gx16[16];
    Repeat16(mean, C, m16), Repeat16(scale, C, s16), Repeat16(shift, C, h16);
    ChunkGradSumsT<16>(gy, y, x, gout, rows * C / 16, 16, m16, s16, h16, relu, g16, gx16);
    Fold16(g16, C, sg), Fold16(gx16, C, sgx);
    return;
  }
#define BT_CALL(K) ChunkGradSumsT<K>(gy, y, x, gout, rows, C, mean, scale, shift, relu, sg, sgx)
  BT_DISPATCH_C(C, BT_CALL)
#undef BT_CALL
}

// dx = g * k1 + (x - mean) * k2 + k3.
template <int CC>
BT_INLINE void GradInputRowsT(const float* __restrict gy, const float* __restrict y, const float* __restrict x,
                              float* __restrict dx, int64_t rows, int64_t Crt, const float* __restrict mean,
                              const float* __restrict scale, const float* __restrict shift, bool relu,
                              const float* __restrict k1, const float* __restrict k2, const float* __restrict k3) {
  const int64_t C = CC > 0 ? CC : Crt;
  for (int64_t r = 0; r < rows; r++) {
    const float* gr = gy + r * C;
    const float* yr = y != nullptr ? y + r * C : nullptr;
    const float* xr = x + r * C;
    float* dr = dx + r * C;
    for (int64_t c = 0; c < C; c++) dr[c] = BT_G(c) * k1[c] + (xr[c] - mean[c]) * k2[c] + k3[c];
  }
}
BT_CLONES void GradInputRows(const float* gy, const float* y, const float* x, float* dx, int64_t rows, int64_t C,
                             const float* mean, const float* scale, const float* shift, bool relu, const float* k1,
                             const float* k2, const float* k3) {
  if (Periodic(rows, C)) {
    float m16[16], s16[16], h16[16], a16[16], b16[16], c16[16];
    Repeat16(mean, C, m16), Repeat16(scale, C, s16), Repeat16(shift, C, h16);
    Repeat16(k1, C, a16), Repeat16(k2, C, b16), Repeat16(k3, C, c16);
    GradInputRowsT<16>(gy, y, x, dx, rows * C / 16, 16, m16, s16, h16, relu, a16, b16, c16);
    return;
  }
#define BT_CALL(K) GradInputRowsT<K>(gy, y, x, dx, rows, C, mean, scale, shift, relu, k1, k2, k3)
  BT_DISPATCH_C(C, BT_CALL)
#undef BT_CALL
}


// ---- BatchNorm (batch statistics) + ReLU + max-pool over non-overlapping kh x kw windows -------
// One output row (n, oh) at a time: `x` points at input row (n, oh * kh, 0), `g`/`out` at the
// output row. Within a window the first maximum of z (row-major window order) wins, as in
// max_pool2d; the ReLU after the max is the ReLU before it (they commute), and the gradient
// reaches the winner only when its z > 0.

// out[ow][c] = max(0, max over the window of z).
template <int CC>
BT_INLINE void PoolFwdRowT(const float* __restrict x, float* __restrict out, int64_t W, int64_t OW, int64_t Crt,
                           int64_t kh, int64_t kw, const float* __restrict mean, const float* __restrict scale,
                           const float* __restrict shift) {
  const int64_t C = CC > 0 ? CC : Crt;
  for (int64_t ow = 0; ow < OW; ow++) {
    float* o = out + ow * C;
    for (int64_t c = 0; c < C; c++) o[c] = 0.f;
    for (int64_t i = 0; i < kh; i++)
      for (int64_t j = 0; j < kw; j++) {
        const float* xr = x + (i * W + ow * kw + j) * C;
        for (int64_t c = 0; c < C; c++) o[c] = std::max(o[c], BT_Z(xr, c));
      }
  }
}
BT_CLONES void PoolFwdRow(const float* x, float* out, int64_t W, int64_t OW, int64_t C, int64_t kh, int64_t kw,
                          const float* mean, const float* scale, const float* shift) {
#define BT_CALL(K) PoolFwdRowT<K>(x, out, W, OW, C, kh, kw, mean, scale, shift)
  BT_DISPATCH_C(C, BT_CALL)
#undef BT_CALL
}

// Per window and channel: the winner's position in the window (first maximum of z) and whether
// the gradient passes (its z > 0). best/pos are scratch of C values each.
template <int CC>
BT_INLINE void WindowArgmax(const float* __restrict x, int64_t W, int64_t ow, int64_t C, int64_t kh, int64_t kw,
                            const float* __restrict mean, const float* __restrict scale, const float* __restrict shift,
                            float* __restrict best, int32_t* __restrict pos) {
  for (int64_t c = 0; c < C; c++) best[c] = -INFINITY, pos[c] = 0;
  for (int64_t i = 0; i < kh; i++)
    for (int64_t j = 0; j < kw; j++) {
      const float* xr = x + (i * W + ow * kw + j) * C;
      const int32_t p = static_cast<int32_t>(i * kw + j);
      for (int64_t c = 0; c < C; c++) {
        const float z = BT_Z(xr, c);
        const bool better = z > best[c];
        best[c] = better ? z : best[c];
        pos[c] = better ? p : pos[c];
      }
    }
}

// sg += g, sgx += g * (x - mean) over the winners of one output row.
template <int CC>
BT_INLINE void PoolGradSumsRowT(const float* __restrict x, const float* __restrict g, int64_t W, int64_t OW,
                                int64_t Crt, int64_t kh, int64_t kw, const float* __restrict mean,
                                const float* __restrict scale, const float* __restrict shift, float* __restrict sg,
                                float* __restrict sgx, float* __restrict best, int32_t* __restrict pos) {
  const int64_t C = CC > 0 ? CC : Crt;
  for (int64_t c = 0; c < C; c++) sg[c] = 0.f, sgx[c] = 0.f;
  for (int64_t ow = 0; ow < OW; ow++) {
    WindowArgmax<CC>(x, W, ow, C, kh, kw, mean, scale, shift, best, pos);
    const float* gr = g + ow * C;
    for (int64_t i = 0; i < kh; i++)
      for (int64_t j = 0; j < kw; j++) {
        const float* xr = x + (i * W + ow * kw + j) * C;
        const int32_t p = static_cast<int32_t>(i * kw + j);
        for (int64_t c = 0; c < C; c++) {
          const float gv = (pos[c] == p && best[c] > 0.f) ? gr[c] : 0.f;
          sg[c] += gv;
          sgx[c] += gv * (xr[c] - mean[c]);
        }
      }
  }
}
BT_CLONES void PoolGradSumsRow(const float* x, const float* g, int64_t W, int64_t OW, int64_t C, int64_t kh, int64_t kw,
                               const float* mean, const float* scale, const float* shift, float* sg, float* sgx,
                               float* best, int32_t* pos) {
#define BT_CALL(K) PoolGradSumsRowT<K>(x, g, W, OW, C, kh, kw, mean, scale, shift, sg, sgx, best, pos)
  BT_DISPATCH_C(C, BT_CALL)
#undef BT_CALL
}

// dx over the kh input rows of one output row (columns past OW * kw get no pooled gradient).
template <int CC>
BT_INLINE void PoolGradInputRowT(const float* __restrict x, const float* __restrict g, float* __restrict dx, int64_t W,
                                 int64_t OW, int64_t Crt, int64_t kh, int64_t kw, const float* __restrict mean,
                                 const float* __restrict scale, const float* __restrict shift,
                                 const float* __restrict k1, const float* __restrict k2, const float* __restrict k3,
                                 float* __restrict best, int32_t* __restrict pos) {
  const int64_t C = CC > 0 ? CC : Crt;
  for (int64_t ow = 0; ow < OW; ow++) {
    WindowArgmax<CC>(x, W, ow, C, kh, kw, mean, scale, shift, best, pos);
    const float* gr = g + ow * C;
    for (int64_t i = 0; i < kh; i++)
      for (int64_t j = 0; j < kw; j++) {
        const int64_t off = (i * W + ow * kw + j) * C;
        const float* xr = x + off;
        float* dr = dx + off;
        const int32_t p = static_cast<int32_t>(i * kw + j);
        for (int64_t c = 0; c < C; c++) {
          const float gv = (pos[c] == p && best[c] > 0.f) ? gr[c] : 0.f;
          dr[c] = gv * k1[c] + (xr[c] - mean[c]) * k2[c] + k3[c];
        }
      }
  }
  for (int64_t i = 0; i < kh; i++)
    for (int64_t w = OW * kw; w < W; w++) {
      const float* xr = x + (i * W + w) * C;
      float* dr = dx + (i * W + w) * C;
      for (int64_t c = 0; c < C; c++) dr[c] = (xr[c] - mean[c]) * k2[c] + k3[c];
    }
}
BT_CLONES void PoolGradInputRow(const float* x, const float* g, float* dx, int64_t W, int64_t OW, int64_t C, int64_t kh,
                                int64_t kw, const float* mean, const float* scale, const float* shift, const float* k1,
                                const float* k2, const float* k3, float* best, int32_t* pos) {
#define BT_CALL(K) PoolGradInputRowT<K>(x, g, dx, W, OW, C, kh, kw, mean, scale, shift, k1, k2, k3, best, pos)
  BT_DISPATCH_C(C, BT_CALL)
#undef BT_CALL
}

// dx of input elements outside every window (g = 0): rows past OH * kh.
BT_CLONES void NoGradRows(const float* x, float* dx, int64_t rows, int64_t C, const float* mean, const float* k2,
                          const float* k3) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < C; c++) dx[r * C + c] = (x[r * C + c] - mean[c]) * k2[c] + k3[c];
}

// Runs fn(chunk, row0, rows) for every chunk, chunks shared among libtorch's threads.
template <typename F>
void ForChunks(int64_t M, int64_t chunkRows, const F& fn) {
  const int64_t chunks = (M + chunkRows - 1) / chunkRows;
  at::parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; k++) {
      const int64_t r0 = k * chunkRows;
      fn(k, r0, std::min(chunkRows, M - r0));
    }
  });
}

at::Tensor ChannelsLast(const at::Tensor& t) { return t.contiguous(at::MemoryFormat::ChannelsLast); }

void CheckInput(const at::Tensor& x, const char* what) {
  TORCH_CHECK(x.defined() && x.dim() == 4, "batch_norm_act: ", what, " must be a 4-d [N, C, H, W] tensor");
  TORCH_CHECK(x.scalar_type() == at::kFloat && x.device().is_cpu(), "batch_norm_act: ", what,
              " must be a float32 CPU tensor, got ", x.scalar_type(), " on ", x.device());
}

// Batch statistics of a channels-last x (see the file comment), the per-channel scale
// (gamma * invstd) and shift (beta) of the normalisation, and the running statistics updated.
struct Stats {
  at::Tensor mean, invstd;
  Padded<float> scale, shift;
};
Stats BatchStats(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, at::Tensor runningMean,
                 at::Tensor runningVar, double momentum, double eps) {
  const int64_t C = x.size(1);
  const int64_t M = x.numel() / C;
  TORCH_CHECK(M > 1, "batch_norm_act: expected more than 1 value per channel when training, got input of shape ",
              x.sizes());
  const int64_t rows = ChunkRows(C);
  const int64_t chunks = (M + rows - 1) / rows;
  Padded<float> cmean(chunks * C), cm2(chunks * C);
  const float* xp = x.data_ptr<float>();
  ForChunks(M, rows, [&](int64_t k, int64_t r0, int64_t n) {
    ChunkStats(xp + r0 * C, n, C, cmean.data() + k * C, cm2.data() + k * C);
  });
  // Merge the chunks in order (Chan et al.), in double.
  Padded<double> mean(C, 0.0), m2(C, 0.0);
  double count = 0;
  for (int64_t k = 0; k < chunks; k++) {
    const double nk = static_cast<double>(std::min(rows, M - k * rows));
    const double tot = count + nk;
    for (int64_t c = 0; c < C; c++) {
      const double d = cmean[k * C + c] - mean[c];
      mean[c] += d * nk / tot;
      m2[c] += cm2[k * C + c] + d * d * count * nk / tot;
    }
    count = tot;
  }
  Stats st{at::empty({C}, x.options()), at::empty({C}, x.options()), Padded<float>(C), Padded<float>(C)};
  const float* w = weight.defined() ? weight.data_ptr<float>() : nullptr;
  const float* b = bias.defined() ? bias.data_ptr<float>() : nullptr;
  for (int64_t c = 0; c < C; c++) {
    const double var = m2[c] / static_cast<double>(M);
    const double invstd = 1.0 / std::sqrt(var + eps);
    st.mean.data_ptr<float>()[c] = static_cast<float>(mean[c]);
    st.invstd.data_ptr<float>()[c] = static_cast<float>(invstd);
    const double g = w != nullptr ? w[c] : 1.0;
    st.scale[c] = static_cast<float>(g * invstd);
    st.shift[c] = static_cast<float>(b != nullptr ? b[c] : 0.0);
  }
  if (runningMean.defined() && runningVar.defined()) {
    at::NoGradGuard ng;
    auto rm = runningMean.accessor<float, 1>();
    auto rv = runningVar.accessor<float, 1>();
    // Computed into padded arrays, then stored (the running statistics are small tensors that
    // may lie next to each other: see Padded).
    Padded<float> nrm(C), nrv(C);
    for (int64_t c = 0; c < C; c++) {
      const double unbiased = m2[c] / static_cast<double>(M - 1);
      nrm[c] = static_cast<float>((1.0 - momentum) * rm[c] + momentum * mean[c]);
      nrv[c] = static_cast<float>((1.0 - momentum) * rv[c] + momentum * unbiased);
    }
    for (int64_t c = 0; c < C; c++) rm[c] = nrm[c], rv[c] = nrv[c];
  }
  return st;
}

// What a backward needs of its forward besides tensors: scale and shift (to recompute the ReLU
// mask and window winners from x) and which affine parameters exist.
void SaveAffine(AutogradContext* ctx, const Stats& st, const at::Tensor& weight, const at::Tensor& bias) {
  ctx->saved_data["scale"] = std::vector<double>(st.scale.begin(), st.scale.end());
  ctx->saved_data["shift"] = std::vector<double>(st.shift.begin(), st.shift.end());
  ctx->saved_data["affine_w"] = weight.defined();
  ctx->saved_data["affine_b"] = bias.defined();
}
void LoadScaleShift(AutogradContext* ctx, int64_t C, Padded<float>& scale, Padded<float>& shift) {
  const auto s1 = ctx->saved_data["scale"].toDoubleVector();
  const auto s2 = ctx->saved_data["shift"].toDoubleVector();
  scale.resize(C), shift.resize(C);
  for (int64_t c = 0; c < C; c++) scale[c] = static_cast<float>(s1[c]), shift[c] = static_cast<float>(s2[c]);
}

// The input gradient of batch normalisation is dx = g * k1 + (x - mean) * k2 + k3 per channel,
// from the sums sg = sum g and sgx = sum g * (x - mean) over the M values of each channel.
struct InputGradCoefs {
  Padded<float> k1, k2, k3;
};
InputGradCoefs InputGrad(const Padded<double>& sg, const Padded<double>& sgx, const float* invstd,
                         const float* weight, int64_t M) {
  const size_t C = sg.size();
  InputGradCoefs k{Padded<float>(C), Padded<float>(C), Padded<float>(C)};
  for (size_t c = 0; c < C; c++) {
    const double is = invstd[c];
    const double a = (weight != nullptr ? weight[c] : 1.0) * is;  // gamma * invstd
    const double kk2 = -a * is * is * sgx[c] / static_cast<double>(M);
    k.k1[c] = static_cast<float>(a);
    k.k2[c] = static_cast<float>(kk2);
    k.k3[c] = static_cast<float>(-a * sg[c] / static_cast<double>(M));
  }
  return k;
}

// Per-channel sums of sum(g) and sum(g*xhat) from `parts` partial rows of C floats, merged in part
// order in double: the result does not depend on how the parts were split among threads.
std::pair<Padded<double>, Padded<double>> MergeSums(const Padded<float>& psg, const Padded<float>& psgx,
                                                              int64_t parts, int64_t C) {
  Padded<double> sg(C, 0.0), sgx(C, 0.0);
  for (int64_t r = 0; r < parts; r++)
    for (int64_t c = 0; c < C; c++) sg[c] += psg[r * C + c], sgx[c] += psgx[r * C + c];
  return {std::move(sg), std::move(sgx)};
}

// The gradients of weight (sum g * x_hat) and bias (sum g), undefined where the parameter is absent.
std::pair<at::Tensor, at::Tensor> ParamGrads(AutogradContext* ctx, const Padded<double>& sg,
                                             const Padded<double>& sgx, const float* invstd,
                                             const at::TensorOptions& options) {
  const int64_t C = static_cast<int64_t>(sg.size());
  at::Tensor dw, db;
  if (ctx->saved_data["affine_w"].toBool()) {
    dw = at::empty({C}, options);
    for (int64_t c = 0; c < C; c++) dw.data_ptr<float>()[c] = static_cast<float>(sgx[c] * invstd[c]);
  }
  if (ctx->saved_data["affine_b"].toBool()) {
    db = at::empty({C}, options);
    for (int64_t c = 0; c < C; c++) db.data_ptr<float>()[c] = static_cast<float>(sg[c]);
  }
  return {dw, db};
}

struct BatchNormAct : public torch::autograd::Function<BatchNormAct> {
  // Optional tensors travel as c10::optional (an undefined at::Tensor is not a valid autograd input).
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const c10::optional<at::Tensor>& residualOpt,
                            const c10::optional<at::Tensor>& weightOpt, const c10::optional<at::Tensor>& biasOpt,
                            const c10::optional<at::Tensor>& runningMeanOpt,
                            const c10::optional<at::Tensor>& runningVarOpt, double momentum, double eps, bool relu) {
    const at::Tensor runningMean = runningMeanOpt.value_or(at::Tensor());
    const at::Tensor runningVar = runningVarOpt.value_or(at::Tensor());
    const at::Tensor residual = residualOpt.value_or(at::Tensor());
    const at::Tensor weight = weightOpt.value_or(at::Tensor());
    const at::Tensor bias = biasOpt.value_or(at::Tensor());
    const at::Tensor x = ChannelsLast(input);
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    const int64_t M = N * H * W;
    at::Tensor res;
    if (residual.defined()) {
      TORCH_CHECK(residual.sizes() == x.sizes(), "batch_norm_act: residual of shape ", residual.sizes(),
                  " does not match input of shape ", x.sizes());
      res = ChannelsLast(residual);
    }
    const int64_t rows = ChunkRows(C);
    const float* xp = x.data_ptr<float>();
    Stats st = BatchStats(x, weight, bias, runningMean, runningVar, momentum, eps);
    const at::Tensor& saveMean = st.mean;
    const at::Tensor& saveInvstd = st.invstd;
    const Padded<float>& scale = st.scale;
    const Padded<float>& shift = st.shift;
    const Padded<float> meanV(saveMean.data_ptr<float>(), C);
    const float* meanF = meanV.data();
    at::Tensor y = at::empty_like(x, at::MemoryFormat::ChannelsLast);
    float* yp = y.data_ptr<float>();
    const float* rp = res.defined() ? res.data_ptr<float>() : nullptr;
    ForChunks(M, rows, [&](int64_t, int64_t r0, int64_t n) {
      ApplyRows(xp + r0 * C, rp != nullptr ? rp + r0 * C : nullptr, yp + r0 * C, n, C, meanF, scale.data(), shift.data(),
                relu);
    });
    // y is needed for the ReLU mask only after a shortcut (otherwise the mask is recomputed from x).
    ctx->save_for_backward({x, residual.defined() && relu ? y : at::Tensor(), saveMean, saveInvstd, weight});
    ctx->saved_data["relu"] = relu;
    ctx->saved_data["residual"] = residual.defined();
    SaveAffine(ctx, st, weight, bias);
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor& y = saved[1];
    const at::Tensor& mean = saved[2];
    const at::Tensor& invstd = saved[3];
    const at::Tensor& weight = saved[4];
    const bool relu = ctx->saved_data["relu"].toBool();
    const bool hasRes = ctx->saved_data["residual"].toBool();
    const bool hasW = ctx->saved_data["affine_w"].toBool();
    const at::Tensor gy = ChannelsLast(grads[0]);
    const int64_t C = x.size(1);
    const int64_t M = x.numel() / C;
    const int64_t rows = ChunkRows(C);
    const int64_t chunks = (M + rows - 1) / rows;
    Padded<float> csg(chunks * C), csgx(chunks * C);
    const float* gp = gy.data_ptr<float>();
    const float* xp = x.data_ptr<float>();
    const Padded<float> meanV(mean.data_ptr<float>(), C), invstdV(invstd.data_ptr<float>(), C);
    const float* mp = meanV.data();
    const float* ip = invstdV.data();
    const float* w = hasW ? weight.data_ptr<float>() : nullptr;
    // The forward's scale and shift, to recompute the ReLU mask from x (without a shortcut).
    Padded<float> sc, sh;
    LoadScaleShift(ctx, C, sc, sh);
    // y is read for the mask only when the shortcut was added before the ReLU.
    const float* yp = hasRes && relu ? y.data_ptr<float>() : nullptr;
    // With a shortcut and ReLU, the masked gradient is the shortcut's gradient: store it.
    at::Tensor gres;
    if (hasRes) gres = relu ? at::empty_like(gy, at::MemoryFormat::ChannelsLast) : gy;
    float* gout = hasRes && relu ? gres.data_ptr<float>() : nullptr;
    ForChunks(M, rows, [&](int64_t k, int64_t r0, int64_t n) {
      ChunkGradSums(gp + r0 * C, yp != nullptr ? yp + r0 * C : nullptr, xp + r0 * C,
                    gout != nullptr ? gout + r0 * C : nullptr, n, C, mp, sc.data(), sh.data(), relu, csg.data() + k * C,
                    csgx.data() + k * C);
    });
    const auto [sg, sgx] = MergeSums(csg, csgx, chunks, C);
    const InputGradCoefs k = InputGrad(sg, sgx, ip, w, M);
    at::Tensor dx = at::empty_like(x, at::MemoryFormat::ChannelsLast);
    float* dp = dx.data_ptr<float>();
    ForChunks(M, rows, [&](int64_t, int64_t r0, int64_t n) {
      GradInputRows(gp + r0 * C, yp != nullptr ? yp + r0 * C : nullptr, xp + r0 * C, dp + r0 * C, n, C, mp, sc.data(),
                    sh.data(), relu, k.k1.data(), k.k2.data(), k.k3.data());
    });
    const auto [dw, db] = ParamGrads(ctx, sg, sgx, ip, x.options());
    // One gradient per forward argument: input, residual, weight, bias, running stats, scalars.
    return {dx, gres, dw, db, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// ReLU then max over non-overlapping kh x kw windows, one output row (n, oh) of a channels-last
// tensor: out[ow][c] = max(0, max over the window of x[oh*kh + i][ow*kw + j][c]). NaN propagates.
BT_CLONES void ReluMaxPoolRow(const float* x, float* out, int64_t W, int64_t OW, int64_t C, int64_t kh, int64_t kw) {
  for (int64_t ow = 0; ow < OW; ow++) {
    float* o = out + ow * C;
    for (int64_t c = 0; c < C; c++) o[c] = 0.f;
    for (int64_t i = 0; i < kh; i++)
      for (int64_t j = 0; j < kw; j++) {
        const float* v = x + (i * W + ow * kw + j) * C;
        for (int64_t c = 0; c < C; c++) o[c] = (v[c] > o[c] || v[c] != v[c]) ? v[c] : o[c];
      }
  }
}


struct BatchNormReluPool : public torch::autograd::Function<BatchNormReluPool> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const c10::optional<at::Tensor>& weightOpt,
                            const c10::optional<at::Tensor>& biasOpt, const c10::optional<at::Tensor>& runningMeanOpt,
                            const c10::optional<at::Tensor>& runningVarOpt, double momentum, double eps, int64_t kh,
                            int64_t kw) {
    const at::Tensor runningMean = runningMeanOpt.value_or(at::Tensor());
    const at::Tensor runningVar = runningVarOpt.value_or(at::Tensor());
    const at::Tensor weight = weightOpt.value_or(at::Tensor());
    const at::Tensor bias = biasOpt.value_or(at::Tensor());
    const at::Tensor x = ChannelsLast(input);
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    const int64_t OH = H / kh, OW = W / kw;
    Stats st = BatchStats(x, weight, bias, runningMean, runningVar, momentum, eps);
    at::Tensor out = at::empty({N, C, OH, OW}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
    const float* xp = x.data_ptr<float>();
    float* op = out.data_ptr<float>();
    const Padded<float> meanV(st.mean.data_ptr<float>(), C);
    const float* mp = meanV.data();
    at::parallel_for(0, N * OH, 1, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; r++) {
        const int64_t n = r / OH, oh = r % OH;
        PoolFwdRow(xp + ((n * H + oh * kh) * W) * C, op + r * OW * C, W, OW, C, kh, kw, mp, st.scale.data(),
                   st.shift.data());
      }
    });
    ctx->save_for_backward({x, st.mean, st.invstd, weight});
    ctx->saved_data["kh"] = kh;
    ctx->saved_data["kw"] = kw;
    SaveAffine(ctx, st, weight, bias);
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor& mean = saved[1];
    const at::Tensor& invstd = saved[2];
    const at::Tensor& weight = saved[3];
    const int64_t kh = ctx->saved_data["kh"].toInt(), kw = ctx->saved_data["kw"].toInt();
    const bool hasW = ctx->saved_data["affine_w"].toBool();
    const at::Tensor g = ChannelsLast(grads[0]);
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    const int64_t OH = H / kh, OW = W / kw;
    const int64_t M = N * H * W;
    Padded<float> sc, sh;
    LoadScaleShift(ctx, C, sc, sh);
    const float* xp = x.data_ptr<float>();
    const float* gp = g.data_ptr<float>();
    const Padded<float> meanV(mean.data_ptr<float>(), C), invstdV(invstd.data_ptr<float>(), C);
    const float* mp = meanV.data();
    const float* ip = invstdV.data();
    // Partial sums per output row, merged in row order in double: thread-count independent.
    const int64_t R = N * OH;
    Padded<float> psg(R * C), psgx(R * C);
    at::parallel_for(0, R, 1, [&](int64_t b, int64_t e) {
      Padded<float> best(C);
      Padded<int32_t> pos(C);
      for (int64_t r = b; r < e; r++) {
        const int64_t n = r / OH, oh = r % OH;
        PoolGradSumsRow(xp + ((n * H + oh * kh) * W) * C, gp + r * OW * C, W, OW, C, kh, kw, mp, sc.data(), sh.data(),
                        psg.data() + r * C, psgx.data() + r * C, best.data(), pos.data());
      }
    });
    const auto [sg, sgx] = MergeSums(psg, psgx, R, C);
    const float* w = hasW ? weight.data_ptr<float>() : nullptr;
    const InputGradCoefs k = InputGrad(sg, sgx, ip, w, M);
    at::Tensor dx = at::empty_like(x, at::MemoryFormat::ChannelsLast);
    float* dp = dx.data_ptr<float>();
    at::parallel_for(0, R, 1, [&](int64_t b, int64_t e) {
      Padded<float> best(C);
      Padded<int32_t> pos(C);
      for (int64_t r = b; r < e; r++) {
        const int64_t n = r / OH, oh = r % OH;
        const int64_t off = ((n * H + oh * kh) * W) * C;
        PoolGradInputRow(xp + off, gp + r * OW * C, dp + off, W, OW, C, kh, kw, mp, sc.data(), sh.data(), k.k1.data(),
                         k.k2.data(), k.k3.data(), best.data(), pos.data());
      }
    });
    // Input rows below the last window row of each image.
    if (OH * kh < H)
      for (int64_t n = 0; n < N; n++) {
        const int64_t off = ((n * H + OH * kh) * W) * C;
        NoGradRows(xp + off, dp + off, (H - OH * kh) * W, C, mp, k.k2.data(), k.k3.data());
      }
    const auto [dw, db] = ParamGrads(ctx, sg, sgx, ip, x.options());
    return {dx, dw, db, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};
}  // namespace

at::Tensor ReluMaxPool(const at::Tensor& input, int64_t kh, int64_t kw) {
  CheckInput(input, "input");
  TORCH_CHECK(kh > 0 && kw > 0 && input.size(2) >= kh && input.size(3) >= kw, "relu_max_pool: window ", kh, "x", kw,
              " does not fit input of shape ", input.sizes());
  TORCH_CHECK(!(at::GradMode::is_enabled() && input.requires_grad()),
              "relu_max_pool has no backward: call it only where no gradient is recorded");
  const at::Tensor x = ChannelsLast(input);
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t OH = H / kh, OW = W / kw;
  at::Tensor out = at::empty({N, C, OH, OW}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  const float* xp = x.data_ptr<float>();
  float* op = out.data_ptr<float>();
  at::parallel_for(0, N * OH, 1, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      const int64_t n = r / OH, oh = r % OH;
      ReluMaxPoolRow(xp + ((n * H + oh * kh) * W) * C, op + r * OW * C, W, OW, C, kh, kw);
    }
  });
  return out;
}

at::Tensor BatchNormActTrain(const at::Tensor& input, const at::Tensor& residual, const at::Tensor& weight,
                             const at::Tensor& bias, const at::Tensor& runningMean, const at::Tensor& runningVar,
                             double momentum, double eps, bool relu) {
  CheckInput(input, "input");
  if (residual.defined()) CheckInput(residual, "residual");
  const int64_t C = input.size(1);
  for (const auto* p : {&weight, &bias, &runningMean, &runningVar})
    if (p->defined())
      TORCH_CHECK(p->dim() == 1 && p->size(0) == C && p->scalar_type() == at::kFloat && p->is_contiguous(),
                  "batch_norm_act: weight, bias and running statistics must be contiguous float32 vectors of ", C,
                  " values (the input's channels)");
  TORCH_CHECK(runningMean.defined() == runningVar.defined(),
              "batch_norm_act: give both running statistics or neither");
  auto opt = [](const at::Tensor& t) { return t.defined() ? c10::optional<at::Tensor>(t) : c10::nullopt; };
  return BatchNormAct::apply(input, opt(residual), opt(weight), opt(bias), opt(runningMean), opt(runningVar), momentum,
                             eps, relu);
}

at::Tensor BatchNormReluPoolTrain(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                                  const at::Tensor& runningMean, const at::Tensor& runningVar, double momentum,
                                  double eps, int64_t kh, int64_t kw) {
  CheckInput(input, "input");
  const int64_t C = input.size(1);
  for (const auto* p : {&weight, &bias, &runningMean, &runningVar})
    if (p->defined())
      TORCH_CHECK(p->dim() == 1 && p->size(0) == C && p->scalar_type() == at::kFloat && p->is_contiguous(),
                  "batch_norm_relu_pool: weight, bias and running statistics must be contiguous float32 vectors of ",
                  C, " values (the input's channels)");
  TORCH_CHECK(runningMean.defined() == runningVar.defined(),
              "batch_norm_relu_pool: give both running statistics or neither");
  TORCH_CHECK(kh > 0 && kw > 0 && input.size(2) >= kh && input.size(3) >= kw, "batch_norm_relu_pool: window ", kh, "x",
              kw, " does not fit input of shape ", input.sizes());
  auto opt = [](const at::Tensor& t) { return t.defined() ? c10::optional<at::Tensor>(t) : c10::nullopt; };
  return BatchNormReluPool::apply(input, opt(weight), opt(bias), opt(runningMean), opt(runningVar), momentum, eps, kh,
                                  kw);
}

}  // namespace bt
