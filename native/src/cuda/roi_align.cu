// RoIAlign on the GPU, forward and backward: one thread per pooled output element
// (roi, channel, bin row, bin column), averaging the bilinear samples of its bin.
// The backward pass scatters each output gradient into the input gradient with atomic
// adds (bins of overlapping RoIs share input pixels).
//
// The arithmetic follows the CPU kernel (detection_ops.cpp) step by step (RoI corners
// scaled in double, then the bin and sample positions in the tensor's type; the same
// boundary rules; samples outside [-1, H] x [-1, W] weigh 0), so the two agree to
// rounding. float16 computes in float.

#include "../bilinear.h"
#include "common.cuh"
#include "detection_cuda.h"

#include <ATen/cuda/Atomic.cuh>

namespace tsv {
namespace cuda {
namespace {

template <typename A>
struct Geometry {
  int64_t batch;
  A startH, startW, binH, binW;
  int64_t gridH, gridW;
  A count;
};

template <typename T, typename A>
__device__ inline Geometry<A> roiGeometry(const T* roi, double scale, int64_t ph, int64_t pw, int64_t samplingRatio,
                                          bool aligned) {
  const double offset = aligned ? 0.5 : 0.0;
  Geometry<A> g;
  g.batch = static_cast<int64_t>(static_cast<A>(roi[0]));
  g.startW = static_cast<A>(static_cast<double>(static_cast<A>(roi[1])) * scale - offset);
  g.startH = static_cast<A>(static_cast<double>(static_cast<A>(roi[2])) * scale - offset);
  const A endW = static_cast<A>(static_cast<double>(static_cast<A>(roi[3])) * scale - offset);
  const A endH = static_cast<A>(static_cast<double>(static_cast<A>(roi[4])) * scale - offset);
  A roiW = endW - g.startW, roiH = endH - g.startH;
  if (!aligned) {  // legacy behaviour: malformed RoIs become 1x1
    roiW = max(roiW, static_cast<A>(1));
    roiH = max(roiH, static_cast<A>(1));
  }
  g.binH = roiH / static_cast<A>(ph);
  g.binW = roiW / static_cast<A>(pw);
  // sampling ratio 0 (or less): adaptive, ceil(roi size / output size) points per bin side
  g.gridH = samplingRatio > 0 ? samplingRatio : static_cast<int64_t>(ceil(roiH / static_cast<A>(ph)));
  g.gridW = samplingRatio > 0 ? samplingRatio : static_cast<int64_t>(ceil(roiW / static_cast<A>(pw)));
  const int64_t samples = g.gridH * g.gridW;
  g.count = static_cast<A>(samples > 1 ? samples : 1);
  return g;
}

// Calls fn(inside, pos, w) for each bilinear sample of bin (y, x), grid row by grid row,
// as the CPU kernel orders them; outside the map, inside is false and the weights are 0.
template <typename A, typename Fn>
__device__ inline void forEachSample(const Geometry<A>& g, int64_t y, int64_t x, int64_t height, int64_t width, Fn fn) {
  int64_t pos[4];
  A w[4];
  for (int64_t iy = 0; iy < g.gridH; ++iy) {
    const A yy = g.startH + static_cast<A>(y) * g.binH +
                 static_cast<A>(static_cast<float>(iy) + .5f) * g.binH / static_cast<A>(g.gridH);
    for (int64_t ix = 0; ix < g.gridW; ++ix) {
      const A xx = g.startW + static_cast<A>(x) * g.binW +
                   static_cast<A>(static_cast<float>(ix) + .5f) * g.binW / static_cast<A>(g.gridW);
      const bool inside = tsv::bilinear(height, width, yy, xx, pos, w);
      fn(inside, pos, w);
    }
  }
}

// The kernels' sizes and options: input channels and map size, pooled size, the op's arguments.
struct RoiAlignShape {
  int64_t channels, height, width, ph, pw;
  double scale;
  int64_t samplingRatio;
  bool aligned;
};

// Output element i of [K, C, ph, pw]: its RoI's geometry, its bin (y, x), and the
// offset of its (image, channel) plane in the input.
template <typename A>
struct Bin {
  Geometry<A> g;
  int64_t y, x, plane;
};

template <typename T, typename A>
__device__ inline Bin<A> binOf(int64_t i, const T* rois, const RoiAlignShape& s) {
  const int64_t c = (i / s.pw / s.ph) % s.channels, n = i / s.pw / s.ph / s.channels;
  Bin<A> b;
  b.g = roiGeometry<T, A>(rois + n * 5, s.scale, s.ph, s.pw, s.samplingRatio, s.aligned);
  b.y = (i / s.pw) % s.ph;
  b.x = i % s.pw;
  b.plane = (b.g.batch * s.channels + c) * s.height * s.width;
  return b;
}

template <typename T>
__global__ void roiAlignForwardKernel(int64_t total, const T* __restrict__ input, const T* __restrict__ rois,
                                      T* __restrict__ output, RoiAlignShape s) {
  using A = at::acc_type<T, true>;
  TSV_CUDA_LOOP(i, total) {
    const Bin<A> b = binOf<T, A>(i, rois, s);
    const Geometry<A>& g = b.g;
    const T* plane = input + b.plane;
    A sum = 0;
    // samples outside add 0 * plane[0], as on the CPU
    forEachSample(g, b.y, b.x, s.height, s.width, [&](bool, const int64_t* pos, const A* w) {
      sum += w[0] * static_cast<A>(plane[pos[0]]) + w[1] * static_cast<A>(plane[pos[1]]) +
             w[2] * static_cast<A>(plane[pos[2]]) + w[3] * static_cast<A>(plane[pos[3]]);
    });
    output[i] = static_cast<T>(sum / g.count);
  }
}

template <typename T>
__global__ void roiAlignBackwardKernel(int64_t total, const T* __restrict__ gradOut, const T* __restrict__ rois,
                                       T* __restrict__ gradIn, RoiAlignShape s) {
  using A = at::acc_type<T, true>;
  TSV_CUDA_LOOP(i, total) {
    const Bin<A> b = binOf<T, A>(i, rois, s);
    const Geometry<A>& g = b.g;
    T* plane = gradIn + b.plane;
    const A grad = static_cast<A>(gradOut[i]);
    forEachSample(g, b.y, b.x, s.height, s.width, [&](bool inside, const int64_t* pos, const A* w) {
      if (!inside) return;
      for (int k = 0; k < 4; ++k) gpuAtomicAdd(plane + pos[k], static_cast<T>(grad * w[k] / g.count));
    });
  }
}

}  // namespace

at::Tensor roiAlignForward(const at::Tensor& inputIn, const at::Tensor& roisIn, double scale, int64_t ph, int64_t pw,
                           int64_t samplingRatio, bool aligned) {
  checkSameDevice("roiAlign", inputIn, roisIn);
  c10::cuda::CUDAGuard guard(inputIn.device());
  const at::Tensor input = inputIn.contiguous(), rois = roisIn.contiguous();
  const int64_t channels = input.size(1), height = input.size(2), width = input.size(3);
  at::Tensor output = at::zeros({rois.size(0), channels, ph, pw}, input.options());
  const int64_t total = output.numel();
  // an empty feature map (H or W 0): zeros, and no read of its (absent) pixel 0
  if (total == 0 || height == 0 || width == 0) return output;
  AT_DISPATCH_FLOATING_TYPES_AND_HALF(input.scalar_type(), "roi_align_forward_cuda", [&] {
    launch(roiAlignForwardKernel<scalar_t>, total,
           input.data_ptr<scalar_t>(), rois.data_ptr<scalar_t>(), output.data_ptr<scalar_t>(),
           RoiAlignShape{channels, height, width, ph, pw, scale, samplingRatio, aligned});
  });
  return output;
}

at::Tensor roiAlignBackward(const at::Tensor& gradOutIn, const at::Tensor& roisIn, at::IntArrayRef inputShape,
                            double scale, int64_t ph, int64_t pw, int64_t samplingRatio, bool aligned) {
  checkSameDevice("roiAlign backward", gradOutIn, roisIn);
  TORCH_CHECK(inputShape.size() == 4, "roiAlign backward: input shape should be [N, C, H, W]");
  c10::cuda::CUDAGuard guard(gradOutIn.device());
  const at::Tensor gradOut = gradOutIn.contiguous(), rois = roisIn.contiguous();
  at::Tensor gradIn = at::zeros(inputShape, gradOut.options());
  const int64_t total = gradOut.numel();
  if (total == 0 || gradIn.numel() == 0) return gradIn;
  AT_DISPATCH_FLOATING_TYPES_AND_HALF(gradOut.scalar_type(), "roi_align_backward_cuda", [&] {
    launch(roiAlignBackwardKernel<scalar_t>, total,
           gradOut.data_ptr<scalar_t>(), rois.data_ptr<scalar_t>(), gradIn.data_ptr<scalar_t>(),
           RoiAlignShape{inputShape[1], inputShape[2], inputShape[3], ph, pw, scale, samplingRatio, aligned});
  });
  return gradIn;
}

}  // namespace cuda
}  // namespace tsv
