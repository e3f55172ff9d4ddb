// Detection ops libtorch lacks, with torchvision.ops semantics: nms, roi_align and
// roi_pool (CPU kernels here; CUDA tensors go to the kernels in cuda/ when the build
// has CUDA; differentiable through autograd Functions).
//
// Shapes: boxes [N, 4] (x1, y1, x2, y2); rois [K, 5] (batch index, x1, y1, x2, y2) in
// input-image coordinates, mapped to the feature map by spatial_scale;
// input [N, C, H, W]; pooled output [K, C, PH, PW].

#include "bilinear.h"
#include "common.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#ifdef TSV_WITH_CUDA
#include "cuda/detection_cuda.h"
#endif

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <vector>

namespace tsv {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// ---------------------------------------------------------------- nms

template <typename T>
at::Tensor nmsKernel(const at::Tensor& boxes, const at::Tensor& scores, double iouThreshold) {
  const int64_t n = boxes.size(0);
  at::Tensor keep = at::empty({n}, boxes.options().dtype(at::kLong));
  if (n == 0) return keep;
  // Stable descending sort, so equal scores keep their input order (as torchvision).
  at::Tensor order = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
  const T* b = boxes.data_ptr<T>();
  const int64_t* ord = order.data_ptr<int64_t>();
  std::vector<T> areas(n);
  for (int64_t i = 0; i < n; ++i) areas[i] = (b[4 * i + 2] - b[4 * i]) * (b[4 * i + 3] - b[4 * i + 1]);
  std::vector<uint8_t> suppressed(n, 0);
  int64_t* k = keep.data_ptr<int64_t>();
  int64_t kept = 0;
  for (int64_t oi = 0; oi < n; ++oi) {
    const int64_t i = ord[oi];
    if (suppressed[i]) continue;
    k[kept++] = i;
    const T ix1 = b[4 * i], iy1 = b[4 * i + 1], ix2 = b[4 * i + 2], iy2 = b[4 * i + 3], iarea = areas[i];
    for (int64_t oj = oi + 1; oj < n; ++oj) {
      const int64_t j = ord[oj];
      if (suppressed[j]) continue;
      const T xx1 = std::max(ix1, b[4 * j]), yy1 = std::max(iy1, b[4 * j + 1]);
      const T xx2 = std::min(ix2, b[4 * j + 2]), yy2 = std::min(iy2, b[4 * j + 3]);
      const T w = std::max(static_cast<T>(0), xx2 - xx1), h = std::max(static_cast<T>(0), yy2 - yy1);
      const T inter = w * h;
      const T ovr = inter / (iarea + areas[j] - inter);
      if (ovr > iouThreshold) suppressed[j] = 1;
    }
  }
  return keep.narrow(0, 0, kept);
}

at::Tensor nms(const at::Tensor& boxesIn, const at::Tensor& scoresIn, double iouThreshold) {
  TORCH_CHECK(boxesIn.dim() == 2 && boxesIn.size(1) == 4, "boxes should be a [N, 4] tensor, got ", boxesIn.sizes());
  TORCH_CHECK(scoresIn.dim() == 1 && scoresIn.size(0) == boxesIn.size(0),
              "scores should be a [N] tensor matching boxes, got ", scoresIn.sizes(), " for boxes ", boxesIn.sizes());
  TORCH_CHECK(boxesIn.scalar_type() == scoresIn.scalar_type(), "boxes and scores should have the same dtype, got ",
              boxesIn.scalar_type(), " and ", scoresIn.scalar_type());
#ifdef TSV_WITH_CUDA
  if (boxesIn.is_cuda()) return cuda::nms(boxesIn.detach(), scoresIn.detach().to(boxesIn.device()), iouThreshold);
#endif
  const auto device = boxesIn.device();
  at::Tensor boxes = boxesIn.detach().to(at::kCPU).contiguous();
  at::Tensor scores = scoresIn.detach().to(at::kCPU).contiguous();
  at::Tensor keep;
  AT_DISPATCH_FLOATING_TYPES(boxes.scalar_type(), "nms", [&] { keep = nmsKernel<scalar_t>(boxes, scores, iouThreshold); });
  return keep.to(device);
}

// ---------------------------------------------------------------- roi_align

// One bilinear sample: its four corners (flat y * W + x) and their weights.
template <typename T>
struct Sample {
  int64_t pos1, pos2, pos3, pos4;
  T w1, w2, w3, w4;
};

struct RoiGeometry {
  int64_t batch;
  double startH, startW, binH, binW;
  int64_t gridH, gridW;
  double count;
};

template <typename T>
RoiGeometry roiGeometry(const T* roi, double scale, int64_t ph, int64_t pw, int64_t samplingRatio, bool aligned) {
  const T offset = aligned ? static_cast<T>(0.5) : static_cast<T>(0.0);
  const T startW = roi[1] * scale - offset, startH = roi[2] * scale - offset;
  const T endW = roi[3] * scale - offset, endH = roi[4] * scale - offset;
  T roiW = endW - startW, roiH = endH - startH;
  if (!aligned) {  // legacy behaviour: force malformed RoIs to be 1×1
    roiW = std::max(roiW, static_cast<T>(1.));
    roiH = std::max(roiH, static_cast<T>(1.));
  }
  const T binH = roiH / static_cast<T>(ph), binW = roiW / static_cast<T>(pw);
  // An aligned RoI may be reversed (x2 < x1): its adaptive grid is empty, never negative (two negative
  // sides would multiply into a positive sample count with no samples: a read past them; found by
  // the fuzz harness). torchvision samples nothing there either: its bins are 0.
  const int64_t gridH = samplingRatio > 0 ? samplingRatio : std::max<int64_t>(0, static_cast<int64_t>(std::ceil(roiH / ph)));
  const int64_t gridW = samplingRatio > 0 ? samplingRatio : std::max<int64_t>(0, static_cast<int64_t>(std::ceil(roiW / pw)));
  const T count = std::max(gridH * gridW, static_cast<int64_t>(1));
  return {static_cast<int64_t>(roi[0]), static_cast<double>(startH), static_cast<double>(startW),
          static_cast<double>(binH), static_cast<double>(binW), gridH, gridW, static_cast<double>(count)};
}

// The bilinear sampling points of one RoI, bin by bin (row-major bins, then the grid
// inside each bin); `valid` says which points lie on the feature map (others weigh 0).
template <typename T>
void roiSamples(const RoiGeometry& g, int64_t ph, int64_t pw, int64_t height, int64_t width,
                std::vector<Sample<T>>& samples, std::vector<uint8_t>& valid) {
  const T startH = g.startH, startW = g.startW, binH = g.binH, binW = g.binW;
  samples.clear();
  valid.clear();
  for (int64_t y = 0; y < ph; ++y)
    for (int64_t x = 0; x < pw; ++x)
      for (int64_t iy = 0; iy < g.gridH; ++iy) {
        const T yy = startH + y * binH + static_cast<T>(iy + .5f) * binH / static_cast<T>(g.gridH);
        for (int64_t ix = 0; ix < g.gridW; ++ix) {
          const T xx = startW + x * binW + static_cast<T>(ix + .5f) * binW / static_cast<T>(g.gridW);
          int64_t pos[4];
          T w[4];
          valid.push_back(bilinear<T>(height, width, yy, xx, pos, w));
          samples.push_back({pos[0], pos[1], pos[2], pos[3], w[0], w[1], w[2], w[3]});
        }
      }
}

template <typename T>
void roiAlignForward(const at::Tensor& input, const at::Tensor& rois, at::Tensor& output, double scale,
                     int64_t ph, int64_t pw, int64_t samplingRatio, bool aligned) {
  const int64_t channels = input.size(1), height = input.size(2), width = input.size(3);
  // an empty feature map has no pixel to sample: every bin is 0 (the output's zeros)
  if (height == 0 || width == 0) return;
  const T* in = input.data_ptr<T>();
  const T* r = rois.data_ptr<T>();
  T* out = output.data_ptr<T>();
  at::parallel_for(0, rois.size(0), 1, [&](int64_t begin, int64_t end) {
    std::vector<Sample<T>> samples;
    std::vector<uint8_t> valid;
    for (int64_t n = begin; n < end; ++n) {
      const RoiGeometry g = roiGeometry<T>(r + n * 5, scale, ph, pw, samplingRatio, aligned);
      roiSamples<T>(g, ph, pw, height, width, samples, valid);
      const T count = static_cast<T>(g.count);
      const int64_t perBin = g.gridH * g.gridW;
      for (int64_t c = 0; c < channels; ++c) {
        const T* plane = in + (g.batch * channels + c) * height * width;
        T* o = out + (n * channels + c) * ph * pw;
        const Sample<T>* s = samples.data();
        for (int64_t b = 0; b < ph * pw; ++b) {
          T v = 0;
          for (int64_t k = 0; k < perBin; ++k, ++s) {
            v += s->w1 * plane[s->pos1] + s->w2 * plane[s->pos2] + s->w3 * plane[s->pos3] + s->w4 * plane[s->pos4];
          }
          o[b] = v / count;
        }
      }
    }
  });
}

template <typename T>
void roiAlignBackward(const at::Tensor& gradOut, const at::Tensor& rois, at::Tensor& gradIn, double scale,
                      int64_t ph, int64_t pw, int64_t samplingRatio, bool aligned) {
  const int64_t channels = gradIn.size(1), height = gradIn.size(2), width = gradIn.size(3);
  if (height == 0 || width == 0) return;  // nothing to scatter into (as the forward pass)
  const T* go = gradOut.data_ptr<T>();
  const T* r = rois.data_ptr<T>();
  T* gi = gradIn.data_ptr<T>();
  const int64_t nRois = rois.size(0);
  // RoIs of one image overlap, so parallelize over channels (disjoint output planes);
  // each RoI's sampling points are computed once per channel chunk, not per channel.
  at::parallel_for(0, channels, 1, [&](int64_t cBegin, int64_t cEnd) {
    std::vector<Sample<T>> samples;
    std::vector<uint8_t> valid;
    for (int64_t n = 0; n < nRois; ++n) {
      const RoiGeometry g = roiGeometry<T>(r + n * 5, scale, ph, pw, samplingRatio, aligned);
      const T count = g.count;
      roiSamples<T>(g, ph, pw, height, width, samples, valid);
      const int64_t perBin = g.gridH * g.gridW;
      for (int64_t c = cBegin; c < cEnd; ++c) {
        T* plane = gi + (g.batch * channels + c) * height * width;
        const T* gob = go + (n * channels + c) * ph * pw;
        size_t k = 0;
        for (int64_t b = 0; b < ph * pw; ++b) {
          const T grad = gob[b];
          for (int64_t j = 0; j < perBin; ++j, ++k) {
            if (!valid[k]) continue;
            const Sample<T>& s = samples[k];
            plane[s.pos1] += grad * s.w1 / count;
            plane[s.pos2] += grad * s.w2 / count;
            plane[s.pos3] += grad * s.w3 / count;
            plane[s.pos4] += grad * s.w4 / count;
          }
        }
      }
    }
  });
}

void checkRoiArgs(const char* op, const at::Tensor& input, const at::Tensor& rois, int64_t ph, int64_t pw) {
  TORCH_CHECK(input.dim() == 4, op, ": input should be [N, C, H, W], got ", input.sizes());
  TORCH_CHECK(at::isFloatingType(input.scalar_type()), op, ": input should be a floating-point tensor, got ",
              input.scalar_type());
  TORCH_CHECK(rois.dim() == 2 && rois.size(1) == 5, op, ": rois should be [K, 5] (batch index, x1, y1, x2, y2), got ", rois.sizes());
  TORCH_CHECK(input.scalar_type() == rois.scalar_type(), op, ": input and rois should have the same dtype, got ",
              input.scalar_type(), " and ", rois.scalar_type());
  TORCH_CHECK(ph > 0 && pw > 0, op, ": output size should be positive, got ", ph, "x", pw);
  if (rois.size(0) > 0) {
    // NaN/inf coordinates would turn into out-of-range sample positions in the kernels
    TORCH_CHECK(at::isfinite(rois).all().item<bool>(), op, ": rois should hold finite numbers");
    at::Tensor b = rois.select(1, 0);
    const double lo = b.min().item<double>(), hi = b.max().item<double>();
    TORCH_CHECK(lo >= 0 && hi < input.size(0), op, ": rois refer to batch index ", lo < 0 ? lo : hi,
                " but the input batch has ", input.size(0), " images");
  }
}

// Bounds on a RoI's geometry, checked before any kernel runs (found by the fuzz harness: a
// box of 1e10 px made the adaptive grid's point count wrap, and the sampling wrote past its
// buffer). No feature map is 2^24 px wide, and a RoI of 2^24 bilinear samples is already
// ~250x the largest one a detector asks for (a whole 1333x800 image at stride 1, 7x7 bins).
constexpr double kMaxRoiCoordinate = 16777216.0;
constexpr double kMaxSamplesPerRoi = 16777216.0;

void checkRoiExtent(const char* op, const at::Tensor& rois, double scale, int64_t ph, int64_t pw,
                    int64_t samplingRatio, bool aligned, bool sampled) {
  if (rois.size(0) == 0) return;
  const at::Tensor xy = rois.to(at::kCPU, at::kDouble).narrow(1, 1, 4).mul(scale);
  const at::Tensor far = xy.abs().amax(1);
  const int64_t k = far.argmax().item<int64_t>();
  TORCH_CHECK(far[k].item<double>() <= kMaxRoiCoordinate, op, ": RoI ", k, " reaches ", far[k].item<double>(),
              " px on the feature map (its coordinates times spatialScale); more than 2^24 px is no box on any feature map");
  if (!sampled) return;
  const double bins = static_cast<double>(ph) * static_cast<double>(pw);
  if (samplingRatio > 0) {
    const double n = bins * static_cast<double>(samplingRatio) * static_cast<double>(samplingRatio);
    TORCH_CHECK(n <= kMaxSamplesPerRoi, op, ": ", ph, "x", pw, " bins of ", samplingRatio, "x", samplingRatio,
                " samples are ", n, " bilinear samples per RoI, more than 2^24");
    return;
  }
  at::Tensor w = xy.select(1, 2) - xy.select(1, 0), h = xy.select(1, 3) - xy.select(1, 1);
  if (!aligned) {
    w = w.clamp_min(1);
    h = h.clamp_min(1);
  }
  const at::Tensor n = (h / static_cast<double>(ph)).ceil().clamp_min(0) * (w / static_cast<double>(pw)).ceil().clamp_min(0) * bins;
  const int64_t j = n.argmax().item<int64_t>();
  TORCH_CHECK(n[j].item<double>() <= kMaxSamplesPerRoi, op, ": RoI ", j, " (", w[j].item<double>(), "x", h[j].item<double>(),
              " px on the feature map) needs ", n[j].item<double>(),
              " bilinear samples with adaptive sampling, more than 2^24; pass samplingRatio, or check the boxes' coordinates");
}

class RoiAlignFunction : public torch::autograd::Function<RoiAlignFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& rois, double scale,
                            int64_t ph, int64_t pw, int64_t samplingRatio, bool aligned) {
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["ph"] = ph;
    ctx->saved_data["pw"] = pw;
    ctx->saved_data["sampling"] = samplingRatio;
    ctx->saved_data["aligned"] = aligned;
    ctx->saved_data["shape"] = input.sizes();
#ifdef TSV_WITH_CUDA
    if (input.is_cuda()) {
      at::Tensor r = rois.to(input.device());
      ctx->save_for_backward({r});
      return cuda::roiAlignForward(input, r, scale, ph, pw, samplingRatio, aligned);
    }
#endif
    ctx->save_for_backward({rois});
    const auto device = input.device();
    at::Tensor in = input.to(at::kCPU).contiguous();
    at::Tensor r = rois.to(at::kCPU).contiguous();
    at::Tensor out = at::zeros({r.size(0), in.size(1), ph, pw}, in.options());
    AT_DISPATCH_FLOATING_TYPES(in.scalar_type(), "roi_align", [&] {
      roiAlignForward<scalar_t>(in, r, out, scale, ph, pw, samplingRatio, aligned);
    });
    return out.to(device);
  }

  static variable_list backward(AutogradContext* ctx, variable_list gradOutputs) {
    at::Tensor rois = ctx->get_saved_variables()[0];
#ifdef TSV_WITH_CUDA
    if (gradOutputs[0].is_cuda()) {
      at::Tensor gi = cuda::roiAlignBackward(
          gradOutputs[0], rois, ctx->saved_data["shape"].toIntVector(), ctx->saved_data["scale"].toDouble(),
          ctx->saved_data["ph"].toInt(), ctx->saved_data["pw"].toInt(), ctx->saved_data["sampling"].toInt(),
          ctx->saved_data["aligned"].toBool());
      return {gi, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    }
#endif
    const auto device = rois.device();
    at::Tensor r = rois.to(at::kCPU).contiguous();
    at::Tensor go = gradOutputs[0].to(at::kCPU).contiguous();
    at::Tensor gi = at::zeros(ctx->saved_data["shape"].toIntVector(), go.options());
    AT_DISPATCH_FLOATING_TYPES(go.scalar_type(), "roi_align_backward", [&] {
      roiAlignBackward<scalar_t>(go, r, gi, ctx->saved_data["scale"].toDouble(), ctx->saved_data["ph"].toInt(),
                                 ctx->saved_data["pw"].toInt(), ctx->saved_data["sampling"].toInt(),
                                 ctx->saved_data["aligned"].toBool());
    });
    return {gi.to(device), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// ---------------------------------------------------------------- roi_pool

template <typename T>
void roiPoolForward(const at::Tensor& input, const at::Tensor& rois, at::Tensor& output, at::Tensor& argmax,
                    double scale, int64_t ph, int64_t pw) {
  const int64_t channels = input.size(1), height = input.size(2), width = input.size(3);
  const T* in = input.data_ptr<T>();
  const T* r = rois.data_ptr<T>();
  T* out = output.data_ptr<T>();
  int64_t* am = argmax.data_ptr<int64_t>();
  at::parallel_for(0, rois.size(0), 1, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      const T* roi = r + n * 5;
      const int64_t batch = static_cast<int64_t>(roi[0]);
      const int64_t startW = std::round(roi[1] * scale), startH = std::round(roi[2] * scale);
      const int64_t endW = std::round(roi[3] * scale), endH = std::round(roi[4] * scale);
      const int64_t roiW = std::max(endW - startW + 1, static_cast<int64_t>(1));
      const int64_t roiH = std::max(endH - startH + 1, static_cast<int64_t>(1));
      const T binH = static_cast<T>(roiH) / static_cast<T>(ph), binW = static_cast<T>(roiW) / static_cast<T>(pw);
      for (int64_t y = 0; y < ph; ++y)
        for (int64_t x = 0; x < pw; ++x) {
          int64_t hs = static_cast<int64_t>(std::floor(static_cast<T>(y) * binH));
          int64_t ws = static_cast<int64_t>(std::floor(static_cast<T>(x) * binW));
          int64_t he = static_cast<int64_t>(std::ceil(static_cast<T>(y + 1) * binH));
          int64_t we = static_cast<int64_t>(std::ceil(static_cast<T>(x + 1) * binW));
          hs = std::min(std::max(hs + startH, static_cast<int64_t>(0)), height);
          he = std::min(std::max(he + startH, static_cast<int64_t>(0)), height);
          ws = std::min(std::max(ws + startW, static_cast<int64_t>(0)), width);
          we = std::min(std::max(we + startW, static_cast<int64_t>(0)), width);
          const bool empty = he <= hs || we <= ws;
          for (int64_t c = 0; c < channels; ++c) {
            const T* plane = in + (batch * channels + c) * height * width;
            T best = empty ? 0 : -FLT_MAX;
            int64_t bestIdx = -1;
            for (int64_t h = hs; h < he; ++h)
              for (int64_t w = ws; w < we; ++w) {
                const int64_t idx = h * width + w;
                if (plane[idx] > best) {
                  best = plane[idx];
                  bestIdx = idx;
                }
              }
            const int64_t o = ((n * channels + c) * ph + y) * pw + x;
            out[o] = best;
            am[o] = bestIdx;
          }
        }
    }
  });
}

class RoiPoolFunction : public torch::autograd::Function<RoiPoolFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& rois, double scale,
                            int64_t ph, int64_t pw) {
    ctx->saved_data["shape"] = input.sizes();
#ifdef TSV_WITH_CUDA
    if (input.is_cuda()) {
      at::Tensor r = rois.to(input.device());
      auto result = cuda::roiPoolForward(input, r, scale, ph, pw);
      ctx->save_for_backward({r, std::get<1>(result)});
      return std::get<0>(result);
    }
#endif
    const auto device = input.device();
    at::Tensor in = input.to(at::kCPU).contiguous();
    at::Tensor r = rois.to(at::kCPU).contiguous();
    at::Tensor out = at::zeros({r.size(0), in.size(1), ph, pw}, in.options());
    at::Tensor argmax = at::full({r.size(0), in.size(1), ph, pw}, -1, in.options().dtype(at::kLong));
    AT_DISPATCH_FLOATING_TYPES(in.scalar_type(), "roi_pool", [&] {
      roiPoolForward<scalar_t>(in, r, out, argmax, scale, ph, pw);
    });
    ctx->save_for_backward({rois, argmax});
    return out.to(device);
  }

  static variable_list backward(AutogradContext* ctx, variable_list gradOutputs) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor& rois = saved[0];
    const at::Tensor& argmax = saved[1];
    auto shape = ctx->saved_data["shape"].toIntVector();
#ifdef TSV_WITH_CUDA
    if (gradOutputs[0].is_cuda()) {
      return {cuda::roiPoolBackward(gradOutputs[0], rois, argmax, shape), at::Tensor(), at::Tensor(), at::Tensor(),
              at::Tensor()};
    }
#endif
    const auto device = rois.device();
    at::Tensor go = gradOutputs[0].to(at::kCPU).contiguous();
    at::Tensor r = rois.to(at::kCPU).contiguous();
    // grad_input[batch(roi), c].flat[argmax] += grad_output, skipping empty bins (-1)
    at::Tensor gi = at::zeros({shape[0] * shape[1], shape[2] * shape[3]}, go.options());
    const int64_t k = go.size(0), channels = go.size(1), bins = go.size(2) * go.size(3);
    if (k > 0) {
      at::Tensor batch = r.select(1, 0).to(at::kLong);
      at::Tensor planeIdx = (batch.view({k, 1}) * channels + at::arange(channels, batch.options()).view({1, channels}))
                                .view({k, channels, 1}).expand({k, channels, bins}).reshape({-1, bins});
      at::Tensor am = argmax.view({-1, bins});
      at::Tensor valid = am >= 0;
      at::Tensor flat = planeIdx * (shape[2] * shape[3]) + am.clamp_min(0);
      at::Tensor giFlat = gi.view({-1});
      giFlat.index_put_({flat.masked_select(valid)}, go.view({-1, bins}).masked_select(valid), /*accumulate=*/true);
    }
    return {gi.view(shape).to(device), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// ---------------------------------------------------------------- bindings

// Bounds of the RoI ops' integer arguments. A pooled side is a few bins (7, 14, 28); 65,536
// keeps PH * PW within 2^32. samplingRatio <= 0 means adaptive (ceil(roi size / output
// size) points per bin side, torchvision's convention for any value <= 0; -1 and 0 are the
// defaults of torchvision and MMCV); a fixed grid of more than 1,024 x 1,024 points per bin
// is no sampling anyone means, only a way to hang the process.
constexpr int64_t kMaxPooledSide = 65536;
constexpr int64_t kMinSamplingRatio = -1, kMaxSamplingRatio = 1024;

Napi::Value Nms(const Napi::CallbackInfo& info) {
  TSV_TRY
  const at::Tensor& boxes = unwrap(info.Env(), info[0], "nms boxes");
  const at::Tensor& scores = unwrap(info.Env(), info[1], "nms scores");
  // NaN would compare false with every IoU: nothing suppressed, silently
  return wrap(info.Env(), nms(boxes, scores, notNanArg(info, 2, "nms", "iouThreshold")));
  TSV_CATCH("nms")
}

// roiAlign(input, rois, spatialScale, pooledH, pooledW, samplingRatio, aligned)
Napi::Value RoiAlign(const Napi::CallbackInfo& info) {
  TSV_TRY
  const at::Tensor& input = unwrap(info.Env(), info[0], "roiAlign input");
  const at::Tensor& rois = unwrap(info.Env(), info[1], "roiAlign rois");
  const double scale = positiveFiniteArg(info, 2, "roiAlign", "spatialScale");
  const int64_t ph = intArg(info, 3, "roiAlign", "outputSize[0]", 1, kMaxPooledSide);
  const int64_t pw = intArg(info, 4, "roiAlign", "outputSize[1]", 1, kMaxPooledSide);
  const int64_t sampling = intArg(info, 5, "roiAlign", "samplingRatio", kMinSamplingRatio, kMaxSamplingRatio);
  const bool aligned = boolArg(info, 6, "roiAlign", "aligned");
  checkRoiArgs("roiAlign", input, rois, ph, pw);
  checkRoiExtent("roiAlign", rois, scale, ph, pw, sampling, aligned, true);
  return wrap(info.Env(), RoiAlignFunction::apply(input, rois, scale, ph, pw, sampling, aligned));
  TSV_CATCH("roiAlign")
}

// roiPool(input, rois, spatialScale, pooledH, pooledW)
Napi::Value RoiPool(const Napi::CallbackInfo& info) {
  TSV_TRY
  const at::Tensor& input = unwrap(info.Env(), info[0], "roiPool input");
  const at::Tensor& rois = unwrap(info.Env(), info[1], "roiPool rois");
  const double scale = positiveFiniteArg(info, 2, "roiPool", "spatialScale");
  const int64_t ph = intArg(info, 3, "roiPool", "outputSize[0]", 1, kMaxPooledSide);
  const int64_t pw = intArg(info, 4, "roiPool", "outputSize[1]", 1, kMaxPooledSide);
  checkRoiArgs("roiPool", input, rois, ph, pw);
  checkRoiExtent("roiPool", rois, scale, ph, pw, 0, false, false);
  return wrap(info.Env(), RoiPoolFunction::apply(input, rois, scale, ph, pw));
  TSV_CATCH("roiPool")
}

}  // namespace

void registerDetectionOps(Napi::Env env, Napi::Object exports) {
  TSV_EXPORT("nms", Nms);
  TSV_EXPORT("roiAlign", RoiAlign);
  TSV_EXPORT("roiPool", RoiPool);
}

}  // namespace tsv
