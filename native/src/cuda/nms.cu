// NMS on the GPU, as a bitmask: boxes sorted by decreasing score are cut into tiles of
// 64; block (row tile, column tile) compares each of its row boxes with the 64 boxes of
// the column tile and writes one 64-bit word per row box, bit k set when column box k
// (ranked after the row box) overlaps it above the threshold. The greedy scan that
// follows is sequential, so it runs on the host over the mask copied back:
// walking boxes in rank order, a box not yet suppressed is kept and ORs its row of
// words into the suppression set.
//
// IoU uses the same operations in the same order as the CPU kernel
// (detection_ops.cpp), and the .cu files are built with -fmad=false (no fused
// multiply-add), so both give the same keep list on the same input.

#include "common.cuh"
#include "detection_cuda.h"

#include <vector>

namespace tsv {
namespace cuda {
namespace {

constexpr int kTile = 64;  // boxes per tile = bits in a mask word

template <typename A>
__device__ inline bool overlapsAbove(const A* a, const A* b, double threshold) {
  const A areaA = (a[2] - a[0]) * (a[3] - a[1]);
  const A areaB = (b[2] - b[0]) * (b[3] - b[1]);
  const A w = max(static_cast<A>(0), min(a[2], b[2]) - max(a[0], b[0]));
  const A h = max(static_cast<A>(0), min(a[3], b[3]) - max(a[1], b[1]));
  const A inter = w * h;
  const A iou = inter / (areaA + areaB - inter);
  return static_cast<double>(iou) > threshold;
}

// boxes: [n, 4] in rank order; mask: [n, tiles] words (only column tiles >= the row's
// own tile are written, and only bits of boxes ranked after the row box are set).
template <typename T>
__global__ void nmsMaskKernel(int64_t n, int64_t tiles, double threshold, const T* __restrict__ boxes,
                              unsigned long long* __restrict__ mask) {
  using A = at::acc_type<T, true>;
  const int64_t rowTile = blockIdx.y, colTile = blockIdx.x;
  if (colTile < rowTile) return;
  const int rows = n - rowTile * kTile < kTile ? static_cast<int>(n - rowTile * kTile) : kTile;
  const int cols = n - colTile * kTile < kTile ? static_cast<int>(n - colTile * kTile) : kTile;

  __shared__ A colBoxes[kTile * 4];
  if (threadIdx.x < cols) {
    const T* b = boxes + (colTile * kTile + threadIdx.x) * 4;
    for (int k = 0; k < 4; ++k) colBoxes[threadIdx.x * 4 + k] = static_cast<A>(b[k]);
  }
  __syncthreads();
  if (threadIdx.x >= rows) return;

  const int64_t i = rowTile * kTile + threadIdx.x;
  A row[4];
  for (int k = 0; k < 4; ++k) row[k] = static_cast<A>(boxes[i * 4 + k]);
  unsigned long long bits = 0;
  for (int k = colTile == rowTile ? threadIdx.x + 1 : 0; k < cols; ++k) {
    if (overlapsAbove(row, colBoxes + k * 4, threshold)) bits |= 1ULL << k;
  }
  mask[i * tiles + colTile] = bits;
}

}  // namespace

at::Tensor nms(const at::Tensor& boxesIn, const at::Tensor& scores, double iouThreshold) {
  TORCH_CHECK(boxesIn.is_cuda() && scores.device() == boxesIn.device(),
              "nms: boxes and scores should be on the same CUDA device, got ", boxesIn.device(), " and ",
              scores.device());
  c10::cuda::CUDAGuard guard(boxesIn.device());
  const int64_t n = boxesIn.size(0);
  if (n == 0) return at::empty({0}, boxesIn.options().dtype(at::kLong));

  // stable, so equal scores keep their input order (as on the CPU)
  const at::Tensor order = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
  const at::Tensor boxes = boxesIn.index_select(0, order).contiguous();
  const int64_t tiles = (n + kTile - 1) / kTile;
  TORCH_CHECK(tiles <= 65535, "nms: too many boxes for the CUDA kernel (", n, ")");
  at::Tensor mask = at::empty({n, tiles}, boxes.options().dtype(at::kLong));

  const dim3 grid(static_cast<unsigned int>(tiles), static_cast<unsigned int>(tiles));
  cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND_HALF(boxes.scalar_type(), "nms_cuda", [&] {
    nmsMaskKernel<scalar_t><<<grid, kTile, 0, stream>>>(
        n, tiles, iouThreshold, boxes.data_ptr<scalar_t>(),
        reinterpret_cast<unsigned long long*>(mask.data_ptr<int64_t>()));
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });

  // the greedy scan over the mask, on the host
  const at::Tensor maskCpu = mask.to(at::kCPU);
  const auto* words = reinterpret_cast<const unsigned long long*>(maskCpu.data_ptr<int64_t>());
  std::vector<unsigned long long> suppressed(tiles, 0);
  at::Tensor keepCpu = at::empty({n}, at::TensorOptions().dtype(at::kLong));
  int64_t* keep = keepCpu.data_ptr<int64_t>();
  int64_t kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t tile = i / kTile;
    if (suppressed[tile] & (1ULL << (i % kTile))) continue;
    keep[kept++] = i;
    const unsigned long long* row = words + i * tiles;
    for (int64_t t = tile; t < tiles; ++t) suppressed[t] |= row[t];
  }
  // ranks -> input indices
  return order.index_select(0, keepCpu.narrow(0, 0, kept).to(boxes.device()));
}

}  // namespace cuda
}  // namespace tsv
