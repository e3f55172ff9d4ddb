// Image kernels for the data pipeline (build/tsvision_image.node). No libtorch, no global
// state: every call works only on its arguments, so the addon loads in any number of
// worker threads.
//
// resizeNormalize: bilinear resize of an interleaved uint8 image with OpenCV's INTER_LINEAR
// sampling (as mmcv.imresize: half-pixel centres, edge clamp), optional horizontal flip,
// per-channel (x - mean) / std with any source-channel order, written as planar float32
// into the top-left of a [3, rows, cols] buffer whose remainder is filled with a pad value.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <sys/mman.h>

namespace {

// Where output coordinate `o` samples a source axis of `src` pixels resized to `dst`:
// source indices i0, i1 and the weight f of i1 (computed in double, as OpenCV does, so the
// JavaScript reference in test/data/image-kernels.test.ts finds the same taps).
struct Tap {
  int i0, i1;
  float f;
};

Tap tap(int o, int src, int dst) {
  double s = (o + 0.5) * (static_cast<double>(src) / dst) - 0.5;
  if (s < 0) s = 0;
  int i0 = static_cast<int>(std::floor(s));
  if (i0 > src - 1) i0 = src - 1;
  return {i0, std::min(i0 + 1, src - 1), static_cast<float>(std::min(s - i0, 1.0))};
}

// The row loops are compiled twice on x86-64 (AVX2 and baseline SSE2) and picked at load
// time; -ffp-contract=off keeps both bit-identical.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TSV_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define TSV_CLONES
#endif

// One source row split into three float planes (plane c holds source channel sc[c]), each
// with its last pixel repeated once more, so that pixel x0 + 1 always exists (the edge clamp).
TSV_CLONES void deinterleave(const uint8_t* row, int w, const int sc[3], float* __restrict p0, float* __restrict p1,
                             float* __restrict p2) {
  const uint8_t *s0 = row + sc[0], *s1 = row + sc[1], *s2 = row + sc[2];
  for (int x = 0; x < w; x++) {
    p0[x] = s0[3 * x];
    p1[x] = s1[3 * x];
    p2[x] = s2[3 * x];
  }
  p0[w] = p0[w - 1];
  p1[w] = p1[w - 1];
  p2[w] = p2[w - 1];
}

// One plane row interpolated horizontally: out[x] blends plane pixels x0[x] and x0[x] + 1.
TSV_CLONES void horizontal(const float* __restrict plane, const int32_t* __restrict x0, const float* __restrict fx, int n,
                           float* __restrict out) {
  for (int x = 0; x < n; x++) {
    const float a = plane[x0[x]];
    out[x] = a + (plane[x0[x] + 1] - a) * fx[x];
  }
}

// One output row of one channel: blends two horizontal rows and normalizes.
TSV_CLONES void vertical(const float* __restrict top, const float* __restrict bottom, float fy, float mean, float inv,
                         float* __restrict out, int n) {
  for (int x = 0; x < n; x++) {
    const float t = top[x];
    out[x] = (t + (bottom[x] - t) * fy - mean) * inv;
  }
}

// A fresh output buffer (about 10 MB for a 1333x800 image) is otherwise first touched a 4 KiB
// page at a time, and those page faults cost more than the arithmetic. Asking for
// transparent huge pages on its 2 MiB-aligned interior cuts them ~500-fold. Only a hint:
// the kernel may ignore it, and buffers in memory already touched are unaffected.
void adviseHugePages(void* data, size_t bytes) {
#ifdef MADV_HUGEPAGE
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  if (bytes < 2 * kHuge) return;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#endif
}

struct Job {
  const uint8_t* src;
  int w, h;          // source size
  float* dst;
  int rows, cols;    // each output plane is rows x cols
  int nw, nh;        // resized size (nw <= cols, nh <= rows)
  bool flip;
  int srcChannel[3];
  float mean[3], inv[3];
  float pad;
};

void resizeNormalize(const Job& j) {
  const int nw = j.nw, nh = j.nh;
  std::vector<int32_t> x0(nw);
  std::vector<float> fx(nw);
  for (int x = 0; x < nw; x++) {
    // i1 is i0 + 1, or i0 at the right edge, where the planes repeat their last pixel.
    const Tap t = tap(j.flip ? nw - 1 - x : x, j.w, nw);
    x0[x] = t.i0;
    fx[x] = t.f;
  }
  std::vector<float> planes(3 * static_cast<size_t>(j.w + 1));
  float* const p = planes.data();
  // Two cached horizontal rows (3 planes each), keyed by source row: a source row is
  // interpolated horizontally once however many output rows use it.
  std::vector<float> cache(2 * 3 * static_cast<size_t>(nw));
  int cachedRow[2] = {-1, -1};
  auto rowOf = [&](int sy) -> const float* {
    const int k = sy & 1;
    float* r = cache.data() + static_cast<size_t>(k) * 3 * nw;
    if (cachedRow[k] != sy) {
      deinterleave(j.src + static_cast<size_t>(sy) * j.w * 3, j.w, j.srcChannel, p, p + j.w + 1, p + 2 * (j.w + 1));
      for (int c = 0; c < 3; c++) horizontal(p + c * (j.w + 1), x0.data(), fx.data(), nw, r + c * nw);
      cachedRow[k] = sy;
    }
    return r;
  };
  const size_t plane = static_cast<size_t>(j.rows) * j.cols;
  for (int y = 0; y < nh; y++) {
    const Tap t = tap(y, j.h, nh);
    const float* top = rowOf(t.i0);
    const float* bottom = t.i1 == t.i0 ? top : rowOf(t.i1);
    for (int c = 0; c < 3; c++) {
      float* out = j.dst + c * plane + static_cast<size_t>(y) * j.cols;
      vertical(top + c * nw, bottom + c * nw, t.f, j.mean[c], j.inv[c], out, nw);
      std::fill(out + nw, out + j.cols, j.pad);
    }
  }
  for (int c = 0; c < 3; c++) std::fill(j.dst + c * plane + static_cast<size_t>(nh) * j.cols, j.dst + (c + 1) * plane, j.pad);
}

// Argument readers: wrong types and sizes are JavaScript errors, never memory accesses.
int intArg(const Napi::CallbackInfo& info, size_t i, const char* name, int lo) {
  const double v = info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : NAN;
  if (!(v >= lo && v <= 1 << 30 && v == std::floor(v))) {
    throw Napi::RangeError::New(info.Env(), std::string("resizeNormalize: ") + name + " must be an integer >= " + std::to_string(lo));
  }
  return static_cast<int>(v);
}

float channelArg(const Napi::CallbackInfo& info, size_t i, const char* name, int c) {
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), std::string("resizeNormalize: ") + name + " must be an array of 3 numbers");
  const Napi::Value v = info[i].As<Napi::Array>().Get(static_cast<uint32_t>(c));
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!std::isfinite(d)) throw Napi::TypeError::New(info.Env(), std::string("resizeNormalize: ") + name + " must be an array of 3 finite numbers");
  return static_cast<float>(d);
}

// resizeNormalize(src: Uint8Array, w, h, dst: Float32Array, rows, cols, nw, nh, flip,
//                 srcChannel: number[3], mean: number[3], std: number[3], padValue)
Napi::Value ResizeNormalize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 13) throw Napi::TypeError::New(env, "resizeNormalize: expected 13 arguments");
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "resizeNormalize: src must be a Uint8Array");
  }
  if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(env, "resizeNormalize: dst must be a Float32Array");
  }
  Job j;
  auto src = info[0].As<Napi::Uint8Array>();
  auto dst = info[3].As<Napi::Float32Array>();
  j.w = intArg(info, 1, "w", 1);
  j.h = intArg(info, 2, "h", 1);
  j.rows = intArg(info, 4, "rows", 1);
  j.cols = intArg(info, 5, "cols", 1);
  j.nw = intArg(info, 6, "nw", 1);
  j.nh = intArg(info, 7, "nh", 1);
  if (src.ElementLength() != static_cast<size_t>(j.w) * j.h * 3) {
    throw Napi::RangeError::New(env, "resizeNormalize: src must hold w * h * 3 bytes");
  }
  if (j.nw > j.cols || j.nh > j.rows || dst.ElementLength() != 3 * static_cast<size_t>(j.rows) * j.cols) {
    throw Napi::RangeError::New(env, "resizeNormalize: dst must hold 3 * rows * cols values with nw <= cols and nh <= rows");
  }
  j.flip = info[8].ToBoolean();
  for (int c = 0; c < 3; c++) {
    const float sc = channelArg(info, 9, "srcChannel", c);
    if (sc != 0 && sc != 1 && sc != 2) throw Napi::RangeError::New(env, "resizeNormalize: srcChannel entries must be 0, 1 or 2");
    j.srcChannel[c] = static_cast<int>(sc);
    j.mean[c] = channelArg(info, 10, "mean", c);
    const float sd = channelArg(info, 11, "std", c);
    if (!(sd > 0)) throw Napi::RangeError::New(env, "resizeNormalize: std must be positive");
    j.inv[c] = 1.0f / sd;
  }
  const double pad = info[12].IsNumber() ? info[12].As<Napi::Number>().DoubleValue() : NAN;
  if (std::isnan(pad)) throw Napi::TypeError::New(env, "resizeNormalize: padValue must be a number");
  j.pad = static_cast<float>(pad);
  j.src = src.Data();
  j.dst = dst.Data();
  adviseHugePages(j.dst, dst.ByteLength());
  resizeNormalize(j);
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("resizeNormalize", Napi::Function::New(env, ResizeNormalize, "resizeNormalize"));
  return exports;
}

}  // namespace

NODE_API_MODULE(tsvision_image, Init)
