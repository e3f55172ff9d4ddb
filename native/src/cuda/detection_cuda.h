// CUDA kernels of the detection ops (nms, roi_align, roi_pool), compiled only against a
// libtorch with CUDA (TSV_WITH_CUDA). detection_ops.cpp checks the arguments and sends
// CUDA tensors here; every function runs on the tensors' device and current stream, and
// a failed kernel launch throws (c10::Error), which the binding turns into a JS Error.
#pragma once

#include <ATen/ATen.h>

#include <tuple>

namespace tsv {
namespace cuda {

// boxes [N, 4], scores [N] on one CUDA device, same floating dtype. Indices (int64, on
// the device) of the kept boxes by decreasing score; same result as the CPU kernel.
at::Tensor nms(const at::Tensor& boxes, const at::Tensor& scores, double iouThreshold);

// input [N, C, H, W], rois [K, 5] on one CUDA device -> [K, C, ph, pw]
at::Tensor roiAlignForward(const at::Tensor& input, const at::Tensor& rois, double scale, int64_t ph, int64_t pw,
                           int64_t samplingRatio, bool aligned);
// grad_output [K, C, ph, pw] -> grad_input of shape `inputShape` (accumulated with atomics)
at::Tensor roiAlignBackward(const at::Tensor& gradOut, const at::Tensor& rois, at::IntArrayRef inputShape,
                            double scale, int64_t ph, int64_t pw, int64_t samplingRatio, bool aligned);

// -> (output [K, C, ph, pw], argmax int64 [K, C, ph, pw]: flat h * W + w index, -1 for empty bins)
std::tuple<at::Tensor, at::Tensor> roiPoolForward(const at::Tensor& input, const at::Tensor& rois, double scale,
                                                  int64_t ph, int64_t pw);
at::Tensor roiPoolBackward(const at::Tensor& gradOut, const at::Tensor& rois, const at::Tensor& argmax,
                           at::IntArrayRef inputShape);

}  // namespace cuda
}  // namespace tsv
