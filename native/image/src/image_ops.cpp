// Image kernels for the data pipeline (build/tsvision_image.node). No libtorch, no global
// state: every call works only on its arguments, so the addon loads in any number of
// worker threads.
//
// resizeNormalize: OpenCV's cv::resize(INTER_LINEAR) of an interleaved uint8 image,
// reproduced bit for bit (the fixed-point arithmetic of OpenCV 4.x imgproc/src/resize.cpp for
// 8U, which mmcv.imresize runs in MMDetection's pipelines), optional horizontal flip of the
// resized image, per-channel (v - mean) / std in float32 (as torch on the float32 batch) with any
// source-channel order, written as planar float32 into the top-left of a [3, rows, cols] buffer
// whose remainder is filled with a pad value. test/data/image-kernels.test.ts checks the bytes
// against cv2 4.8 (test/fixtures/cv2_resize).
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <sys/mman.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

// OpenCV's INTER_RESIZE_COEF_BITS: interpolation weights are 11-bit fixed point.
constexpr int kCoefScale = 1 << 11;

// One output coordinate's source taps: pixels i0 and i1 weighted c0 and c1 (in 1/2048).
struct Tap {
  int i0, i1;
  int16_t c0, c1;
};

// saturate_cast<short>(float): cvRound (round half to even, the default rounding mode), clamped.
int16_t toShort(float v) {
  const long r = std::lrint(v);
  return static_cast<int16_t>(std::min<long>(std::max<long>(r, INT16_MIN), INT16_MAX));
}

// OpenCV's taps for output coordinate `o` of an axis resized from `src` to `dst` pixels
// (hal::resize): scale = 1 / (dst / src) in double, f = float((o + 0.5) * scale - 0.5),
// i0 = floor(f), weights saturate_cast<short>((1 - frac) * 2048) and (frac * 2048), each rounded
// on its own. Columns clamp the coordinate (outside the image: the edge pixel, weight 2048, 0);
// rows keep the weights of the unclamped coordinate and clamp the two row indices.
Tap tap(int o, int src, int dst, bool isRow) {
  const double scale = 1. / (static_cast<double>(dst) / src);
  float f = static_cast<float>((o + 0.5) * scale - 0.5);
  int i0 = static_cast<int>(std::floor(f));
  f -= static_cast<float>(i0);
  int i1 = i0 + 1;
  if (isRow) {
    i0 = std::min(std::max(i0, 0), src - 1);
    i1 = std::min(std::max(i1, 0), src - 1);
  } else {
    if (i0 < 0) f = 0, i0 = 0;
    if (i0 >= src - 1) f = 0, i0 = src - 1;
    i1 = std::min(i0 + 1, src - 1);  // (columns read i0 + 1 from the pair planes, with weight 0 at the edge)
  }
  return {i0, i1, toShort((1.f - f) * kCoefScale), toShort(f * kCoefScale)};
}

// The row loops are compiled twice on x86-64 (AVX2 and baseline SSE2) and picked at load
// time, and the hot ones also exist as AVX2 intrinsics (picked at run time). All of them give the
// same bits: the resize is integer arithmetic, the normalization one float32 subtraction and one
// division (-ffp-contract=off: no fused multiply-add).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TSV_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define TSV_CLONES
#endif

// One source row split into three planes of pixel pairs (plane c from source channel sc[c]):
// q[x] holds pixel x in its low 16 bits and pixel x + 1 (x itself at the right edge, where it is
// read with weight 0) in its high 16 bits, so one 32-bit load fetches both taps of a column.
TSV_CLONES void deinterleavePairs(const uint8_t* row, int w, const int sc[3], uint32_t* __restrict q0, uint32_t* __restrict q1,
                                  uint32_t* __restrict q2) {
  const uint8_t *s0 = row + sc[0], *s1 = row + sc[1], *s2 = row + sc[2];
  for (int x = 0; x < w - 1; x++) {
    q0[x] = s0[3 * x] | static_cast<uint32_t>(s0[3 * x + 3]) << 16;
    q1[x] = s1[3 * x] | static_cast<uint32_t>(s1[3 * x + 3]) << 16;
    q2[x] = s2[3 * x] | static_cast<uint32_t>(s2[3 * x + 3]) << 16;
  }
  const int l = 3 * (w - 1);
  q0[w - 1] = s0[l] * 0x10001u;
  q1[w - 1] = s1[l] * 0x10001u;
  q2[w - 1] = s2[l] * 0x10001u;
}

// One plane row interpolated horizontally, kept as OpenCV's vertical pass reads it:
// (p[i0] * c0 + p[i0 + 1] * c1) >> 4, which fits 16 bits. coef[x] holds c0 in its low and c1 in
// its high 16 bits. Integer arithmetic: the AVX2 version gives the same bits.
void horizontal(const uint32_t* __restrict q, const int32_t* __restrict i0, const uint32_t* __restrict coef, int x, int n,
                int16_t* __restrict out) {
  for (; x < n; x++) {
    const uint32_t p = q[i0[x]], c = coef[x];
    const int v = static_cast<int>(p & 0xffff) * static_cast<int16_t>(c & 0xffff) + static_cast<int>(p >> 16) * static_cast<int16_t>(c >> 16);
    out[x] = static_cast<int16_t>(v >> 4);
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TSV_AVX2 1
// 16 columns at a time: one gather of the pixel pairs and one multiply-add of pairs
// (_mm256_madd_epi16, as OpenCV's v_dotprod) per 8 columns.
__attribute__((target("avx2"))) void horizontalAvx2(const uint32_t* __restrict q, const int32_t* __restrict i0,
                                                    const uint32_t* __restrict coef, int n, int16_t* __restrict out) {
  int x = 0;
  for (; x + 16 <= n; x += 16) {
    __m256i a = _mm256_i32gather_epi32(reinterpret_cast<const int*>(q), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(i0 + x)), 4);
    __m256i b = _mm256_i32gather_epi32(reinterpret_cast<const int*>(q), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(i0 + x + 8)), 4);
    a = _mm256_srai_epi32(_mm256_madd_epi16(a, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(coef + x))), 4);
    b = _mm256_srai_epi32(_mm256_madd_epi16(b, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(coef + x + 8))), 4);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + x), _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8));
  }
  horizontal(q, i0, coef, x, n, out);
}
#endif

// One output row of one channel: OpenCV's vertical blend of two horizontal rows
// (VResizeLinear<uchar, int, short, ...>: ((b0 * t) >> 16) + ((b1 * b) >> 16), + 2, >> 2, the same
// formula in its SIMD and scalar loops), then (v - mean) / std, a float32 division as torch's.
TSV_CLONES void vertical(const int16_t* __restrict top, const int16_t* __restrict bottom, int16_t b0, int16_t b1,
                         float mean, float sd, float* __restrict out, int x, int n) {
  for (; x < n; x++) {
    const int v = (((b0 * top[x]) >> 16) + ((b1 * bottom[x]) >> 16) + 2) >> 2;
    out[x] = (static_cast<float>(v) - mean) / sd;
  }
}

#ifdef TSV_AVX2
// 16 columns at a time; the products' high halves are _mm256_mulhi_epi16 (all terms are >= 0).
__attribute__((target("avx2"))) void verticalAvx2(const int16_t* __restrict top, const int16_t* __restrict bottom, int16_t b0,
                                                  int16_t b1, float mean, float sd, float* __restrict out, int n) {
  const __m256i vb0 = _mm256_set1_epi16(b0), vb1 = _mm256_set1_epi16(b1), two = _mm256_set1_epi16(2);
  const __m256 vm = _mm256_set1_ps(mean), vs = _mm256_set1_ps(sd);
  int x = 0;
  for (; x + 16 <= n; x += 16) {
    const __m256i t = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(top + x));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bottom + x));
    const __m256i v = _mm256_srai_epi16(_mm256_add_epi16(_mm256_add_epi16(_mm256_mulhi_epi16(t, vb0), _mm256_mulhi_epi16(b, vb1)), two), 2);
    const __m256 lo = _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(v)));
    const __m256 hi = _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_extracti128_si256(v, 1)));
    _mm256_storeu_ps(out + x, _mm256_div_ps(_mm256_sub_ps(lo, vm), vs));
    _mm256_storeu_ps(out + x + 8, _mm256_div_ps(_mm256_sub_ps(hi, vm), vs));
  }
  vertical(top, bottom, b0, b1, mean, sd, out, x, n);
}
#endif

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
  float mean[3], std[3];
  float pad;
};

void resizeNormalize(const Job& j) {
  const int nw = j.nw, nh = j.nh;
  std::vector<int32_t> i0(nw);
  std::vector<uint32_t> coef(nw);
  for (int x = 0; x < nw; x++) {
    // Flipped, output column x is the resized image's column nw - 1 - x.
    const Tap t = tap(j.flip ? nw - 1 - x : x, j.w, nw, false);
    i0[x] = t.i0;
    coef[x] = static_cast<uint16_t>(t.c0) | static_cast<uint32_t>(static_cast<uint16_t>(t.c1)) << 16;
  }
#ifdef TSV_AVX2
  static const bool avx2 = __builtin_cpu_supports("avx2");
#endif
  std::vector<uint32_t> pairs(3 * static_cast<size_t>(j.w));
  uint32_t* const q = pairs.data();
  // Two cached horizontal rows (3 planes each), keyed by source row: a source row is
  // interpolated horizontally once however many output rows use it.
  std::vector<int16_t> cache(2 * 3 * static_cast<size_t>(nw));
  int cachedRow[2] = {-1, -1};
  auto rowOf = [&](int sy) -> const int16_t* {
    const int k = sy & 1;
    int16_t* r = cache.data() + static_cast<size_t>(k) * 3 * nw;
    if (cachedRow[k] != sy) {
      deinterleavePairs(j.src + static_cast<size_t>(sy) * j.w * 3, j.w, j.srcChannel, q, q + j.w, q + 2 * j.w);
      for (int c = 0; c < 3; c++) {
#ifdef TSV_AVX2
        if (avx2) {
          horizontalAvx2(q + c * j.w, i0.data(), coef.data(), nw, r + c * nw);
          continue;
        }
#endif
        horizontal(q + c * j.w, i0.data(), coef.data(), 0, nw, r + c * nw);
      }
      cachedRow[k] = sy;
    }
    return r;
  };
  const size_t plane = static_cast<size_t>(j.rows) * j.cols;
  for (int y = 0; y < nh; y++) {
    const Tap t = tap(y, j.h, nh, true);
    const int16_t* top = rowOf(t.i0);
    const int16_t* bottom = t.i1 == t.i0 ? top : rowOf(t.i1);
    for (int c = 0; c < 3; c++) {
      float* out = j.dst + c * plane + static_cast<size_t>(y) * j.cols;
#ifdef TSV_AVX2
      if (avx2) verticalAvx2(top + c * nw, bottom + c * nw, t.c0, t.c1, j.mean[c], j.std[c], out, nw);
      else
#endif
        vertical(top + c * nw, bottom + c * nw, t.c0, t.c1, j.mean[c], j.std[c], out, 0, nw);
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
    j.std[c] = sd;
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
