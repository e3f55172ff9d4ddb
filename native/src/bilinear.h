// Bilinear sampling of one point, shared by the CPU RoIAlign (detection_ops.cpp) and the
// CUDA one (cuda/roi_align.cu), so the two apply the same boundary rules.
#pragma once

#include <cstdint>

#ifdef __CUDACC__
#define TSV_HOST_DEVICE __host__ __device__
#else
#define TSV_HOST_DEVICE
#endif

namespace tsv {

// Corners (flat y * W + x) and weights of point (y, x) on an H x W plane, torchvision's
// convention: false, with zero weights at position 0, outside [-1, H] x [-1, W]; points in
// the border band are clamped onto the edge pixels. A is the arithmetic type.
// An empty plane (H or W 0) has no pixel: every point is outside (torchvision would clamp
// onto pixel -1). Callers must not read position 0 of an empty plane either.
template <typename A>
TSV_HOST_DEVICE inline bool bilinear(int64_t height, int64_t width, A y, A x, int64_t pos[4], A w[4]) {
  if (height <= 0 || width <= 0 || y < -1.0 || y > static_cast<A>(height) || x < -1.0 || x > static_cast<A>(width)) {
    for (int k = 0; k < 4; ++k) {
      pos[k] = 0;
      w[k] = 0;
    }
    return false;
  }
  if (y <= 0) y = 0;
  if (x <= 0) x = 0;
  int64_t yLow = static_cast<int64_t>(y), xLow = static_cast<int64_t>(x), yHigh, xHigh;
  if (yLow >= height - 1) {
    yHigh = yLow = height - 1;
    y = static_cast<A>(yLow);
  } else {
    yHigh = yLow + 1;
  }
  if (xLow >= width - 1) {
    xHigh = xLow = width - 1;
    x = static_cast<A>(xLow);
  } else {
    xHigh = xLow + 1;
  }
  const A ly = y - static_cast<A>(yLow), lx = x - static_cast<A>(xLow);
  const A hy = static_cast<A>(1) - ly, hx = static_cast<A>(1) - lx;
  w[0] = hy * hx;
  w[1] = hy * lx;
  w[2] = ly * hx;
  w[3] = ly * lx;
  pos[0] = yLow * width + xLow;
  pos[1] = yLow * width + xHigh;
  pos[2] = yHigh * width + xLow;
  pos[3] = yHigh * width + xHigh;
  return true;
}

}  // namespace tsv
