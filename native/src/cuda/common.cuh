// Launch helpers shared by the .cu kernels.
#pragma once

#include <ATen/ATen.h>
#include <ATen/AccumulateType.h>
#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>
#include <cstdint>
#include <utility>

namespace tsv {
namespace cuda {

constexpr int kThreads = 256;

// Blocks for a grid-stride loop over `total` elements (the kernels loop, so the grid is capped).
inline unsigned int blocksFor(int64_t total) {
  const int64_t blocks = (total + kThreads - 1) / kThreads;
  return static_cast<unsigned int>(std::max<int64_t>(1, std::min<int64_t>(blocks, 4096 * 8)));
}

// `a` (input or gradient) and the RoIs: same CUDA device, same dtype.
inline void checkSameDevice(const char* op, const at::Tensor& a, const at::Tensor& rois) {
  TORCH_CHECK(a.is_cuda() && rois.device() == a.device(), op,
              ": tensors and rois should be on the same CUDA device, got ", a.device(), " and ", rois.device());
  TORCH_CHECK(a.scalar_type() == rois.scalar_type(), op, ": dtypes differ (", a.scalar_type(), " and ",
              rois.scalar_type(), ")");
}

// Launches `kernel(total, args...)` on the current stream with a grid for `total`
// elements, then checks the launch.
template <typename... Params, typename... Args>
inline void launch(void (*kernel)(int64_t, Params...), int64_t total, Args&&... args) {
  kernel<<<blocksFor(total), kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(total, std::forward<Args>(args)...);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

}  // namespace cuda
}  // namespace tsv

// for (int64_t i = ...; i < n; i += stride) over the whole grid
#define TSV_CUDA_LOOP(i, n)                                                                        \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);          \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)
