// Fused kernels of the addon (fused.cc). See fused.cc for what they compute and why.
#pragma once
#include <ATen/ATen.h>

namespace bt {

// Training-mode BatchNorm2d over a float32 [N, C, H, W] CPU tensor, then `+ residual` when it is
// defined, then ReLU when `relu`; differentiable in input, residual, weight and bias. Updates
// runningMean/runningVar in place (momentum as torch.nn.BatchNorm2d) when they are defined.
// The output is channels-last.
at::Tensor BatchNormActTrain(const at::Tensor& input, const at::Tensor& residual, const at::Tensor& weight,
                             const at::Tensor& bias, const at::Tensor& runningMean, const at::Tensor& runningVar,
                             double momentum, double eps, bool relu);

// max_pool2d(relu(x)) over non-overlapping kh x kw windows (stride = kernel, no padding, floor
// mode) of a float32 [N, C, H, W] CPU tensor, in one pass; channels-last output. No backward:
// refuses input that records a gradient.
at::Tensor ReluMaxPool(const at::Tensor& input, int64_t kh, int64_t kw);

// Training-mode BatchNorm2d, then ReLU, then max-pool over non-overlapping kh x kw windows (floor
// mode), in one kernel with its own backward: the full-size normalised activation is never
// stored. Differentiable in input, weight and bias; running statistics as BatchNormActTrain.
at::Tensor BatchNormReluPoolTrain(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                                  const at::Tensor& runningMean, const at::Tensor& runningVar, double momentum,
                                  double eps, int64_t kh, int64_t kw);

}  // namespace bt
