// RoIPool on the GPU: one thread per pooled output element takes the maximum over its
// quantized bin and records where it was (argmax, flat h * W + w; -1 for an empty bin,
// whose output is 0). The backward pass adds each output gradient at its argmax with
// atomics. Bins are quantized as in the CPU kernel (detection_ops.cpp): RoI corners
// rounded after scaling, bins floor/ceil'd, clipped to the feature map.

#include "common.cuh"
#include "detection_cuda.h"

#include <ATen/cuda/Atomic.cuh>

#include <cfloat>

namespace tsv {
namespace cuda {
namespace {

__device__ inline int64_t clampTo(int64_t v, int64_t hi) { return v < 0 ? 0 : (v > hi ? hi : v); }

template <typename T>
__global__ void roiPoolForwardKernel(int64_t total, const T* __restrict__ input, const T* __restrict__ rois,
                                     T* __restrict__ output, int64_t* __restrict__ argmax, int64_t channels,
                                     int64_t height, int64_t width, int64_t ph, int64_t pw, double scale) {
  using A = at::acc_type<T, true>;
  TSV_CUDA_LOOP(i, total) {
    const int64_t x = i % pw, y = (i / pw) % ph, c = (i / pw / ph) % channels, n = i / pw / ph / channels;
    const T* roi = rois + n * 5;
    const int64_t batch = static_cast<int64_t>(static_cast<A>(roi[0]));
    const int64_t startW = static_cast<int64_t>(round(static_cast<double>(static_cast<A>(roi[1])) * scale));
    const int64_t startH = static_cast<int64_t>(round(static_cast<double>(static_cast<A>(roi[2])) * scale));
    const int64_t endW = static_cast<int64_t>(round(static_cast<double>(static_cast<A>(roi[3])) * scale));
    const int64_t endH = static_cast<int64_t>(round(static_cast<double>(static_cast<A>(roi[4])) * scale));
    const int64_t roiW = endW - startW + 1 > 1 ? endW - startW + 1 : 1;  // malformed RoIs: 1x1
    const int64_t roiH = endH - startH + 1 > 1 ? endH - startH + 1 : 1;
    const A binH = static_cast<A>(roiH) / static_cast<A>(ph), binW = static_cast<A>(roiW) / static_cast<A>(pw);
    const int64_t hs = clampTo(static_cast<int64_t>(floor(static_cast<A>(y) * binH)) + startH, height);
    const int64_t he = clampTo(static_cast<int64_t>(ceil(static_cast<A>(y + 1) * binH)) + startH, height);
    const int64_t ws = clampTo(static_cast<int64_t>(floor(static_cast<A>(x) * binW)) + startW, width);
    const int64_t we = clampTo(static_cast<int64_t>(ceil(static_cast<A>(x + 1) * binW)) + startW, width);
    const bool empty = he <= hs || we <= ws;
    const T* plane = input + (batch * channels + c) * height * width;
    A best = empty ? static_cast<A>(0) : static_cast<A>(-FLT_MAX);
    int64_t bestIdx = -1;
    for (int64_t h = hs; h < he; ++h) {
      for (int64_t w = ws; w < we; ++w) {
        const int64_t idx = h * width + w;
        const A v = static_cast<A>(plane[idx]);
        if (v > best) {
          best = v;
          bestIdx = idx;
        }
      }
    }
    output[i] = static_cast<T>(best);
    argmax[i] = bestIdx;
  }
}

template <typename T>
__global__ void roiPoolBackwardKernel(int64_t total, const T* __restrict__ gradOut, const T* __restrict__ rois,
                                      const int64_t* __restrict__ argmax, T* __restrict__ gradIn, int64_t channels,
                                      int64_t planeSize, int64_t bins) {
  using A = at::acc_type<T, true>;
  TSV_CUDA_LOOP(i, total) {
    const int64_t where = argmax[i];
    if (where < 0) continue;  // empty bin
    const int64_t c = (i / bins) % channels, n = i / bins / channels;
    const int64_t batch = static_cast<int64_t>(static_cast<A>(rois[n * 5]));
    gpuAtomicAdd(gradIn + (batch * channels + c) * planeSize + where, gradOut[i]);
  }
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> roiPoolForward(const at::Tensor& inputIn, const at::Tensor& roisIn, double scale,
                                                  int64_t ph, int64_t pw) {
  checkSameDevice("roiPool", inputIn, roisIn);
  c10::cuda::CUDAGuard guard(inputIn.device());
  const at::Tensor input = inputIn.contiguous(), rois = roisIn.contiguous();
  const int64_t channels = input.size(1), height = input.size(2), width = input.size(3);
  at::Tensor output = at::zeros({rois.size(0), channels, ph, pw}, input.options());
  at::Tensor argmax = at::full({rois.size(0), channels, ph, pw}, -1, input.options().dtype(at::kLong));
  const int64_t total = output.numel();
  if (total == 0) return {output, argmax};
  AT_DISPATCH_FLOATING_TYPES_AND_HALF(input.scalar_type(), "roi_pool_forward_cuda", [&] {
    launch(roiPoolForwardKernel<scalar_t>, total,
           input.data_ptr<scalar_t>(), rois.data_ptr<scalar_t>(), output.data_ptr<scalar_t>(),
           argmax.data_ptr<int64_t>(), channels, height, width, ph, pw, scale);
  });
  return {output, argmax};
}

at::Tensor roiPoolBackward(const at::Tensor& gradOutIn, const at::Tensor& roisIn, const at::Tensor& argmaxIn,
                           at::IntArrayRef inputShape) {
  checkSameDevice("roiPool backward", gradOutIn, roisIn);
  TORCH_CHECK(inputShape.size() == 4, "roiPool backward: input shape should be [N, C, H, W]");
  TORCH_CHECK(argmaxIn.device() == gradOutIn.device() && argmaxIn.sizes() == gradOutIn.sizes(),
              "roiPool backward: argmax does not match the output gradient");
  c10::cuda::CUDAGuard guard(gradOutIn.device());
  const at::Tensor gradOut = gradOutIn.contiguous(), rois = roisIn.contiguous(), argmax = argmaxIn.contiguous();
  at::Tensor gradIn = at::zeros(inputShape, gradOut.options());
  const int64_t total = gradOut.numel();
  if (total == 0 || gradIn.numel() == 0) return gradIn;
  AT_DISPATCH_FLOATING_TYPES_AND_HALF(gradOut.scalar_type(), "roi_pool_backward_cuda", [&] {
    launch(roiPoolBackwardKernel<scalar_t>, total,
           gradOut.data_ptr<scalar_t>(), rois.data_ptr<scalar_t>(), argmax.data_ptr<int64_t>(),
           gradIn.data_ptr<scalar_t>(), inputShape[1], inputShape[2] * inputShape[3], gradOut.size(2) * gradOut.size(3));
  });
  return gradIn;
}

}  // namespace cuda
}  // namespace tsv
