// Runtime controls: seeding, threads, CUDA queries and memory statistics.
#include "common.h"

#include <ATen/Parallel.h>
#include <ATen/Context.h>
#include <ATen/CPUGeneratorImpl.h>
#include <mutex>
#include <ATen/detail/CUDAHooksInterface.h>

#ifdef TSV_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace tsv {
namespace {

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  TSV_TRY
  double s = info[0].As<Napi::Number>().DoubleValue();
  if (s < 0 || std::trunc(s) != s) throw Napi::RangeError::New(info.Env(), "manualSeed: expected a non-negative integer");
  at::manual_seed(static_cast<uint64_t>(s));
  return info.Env().Undefined();
  TSV_CATCH("manualSeed")
}

// The default CPU generator's state as a uint8 tensor (for checkpoints), and back.
Napi::Value GetRngState(const Napi::CallbackInfo& info) {
  TSV_TRY
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return wrap(info.Env(), gen.get_state());
  TSV_CATCH("getRngState")
}

Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  TSV_TRY
  const at::Tensor& state = unwrap(info.Env(), info[0], "setRngState");
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
  return info.Env().Undefined();
  TSV_CATCH("setRngState")
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  TSV_TRY
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) throw Napi::RangeError::New(info.Env(), "setNumThreads: expected a positive integer");
  at::set_num_threads(n);
  return info.Env().Undefined();
  TSV_CATCH("setNumThreads")
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value CudaIsAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::hasCUDA() && at::detail::getCUDAHooks().getNumGPUs() > 0);
}

Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::hasCUDA() ? at::detail::getCUDAHooks().getNumGPUs() : 0);
}

Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  TSV_TRY
#ifdef TSV_WITH_CUDA
  c10::cuda::device_synchronize();
#endif
  return info.Env().Undefined();
  TSV_CATCH("cuda.synchronize")
}

#ifdef TSV_WITH_CUDA
// A CUDA build on a machine without a GPU (or a bad index) gets a clear error here,
// not the allocator's "invalid device argument".
void checkCudaDevice(Napi::Env env, int dev, const char* what) {
  const int count = at::hasCUDA() ? static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()) : 0;
  if (count == 0) throw Napi::Error::New(env, std::string(what) + ": no CUDA device is visible");
  if (dev < 0 || dev >= count) {
    throw Napi::RangeError::New(env, std::string(what) + ": device " + std::to_string(dev) + " out of range (" +
                                         std::to_string(count) + " CUDA devices)");
  }
}
#endif

// cudaMemoryStats(device) -> [allocated, maxAllocated, reserved, maxReserved] in bytes
Napi::Value CudaMemoryStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TSV_TRY
  auto arr = Napi::Array::New(env, 4);
#ifdef TSV_WITH_CUDA
  int dev = info[0].As<Napi::Number>().Int32Value();
  checkCudaDevice(env, dev, "cuda.memoryStats");
  auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(dev);
  // StatType::AGGREGATE, index 0 in every version (the enum moved from
  // c10::cuda::CUDACachingAllocator in 1.x to c10::CachingAllocator in 2.x)
  constexpr size_t agg = 0;
  arr.Set(0u, Napi::Number::New(env, static_cast<double>(stats.allocated_bytes[agg].current)));
  arr.Set(1u, Napi::Number::New(env, static_cast<double>(stats.allocated_bytes[agg].peak)));
  arr.Set(2u, Napi::Number::New(env, static_cast<double>(stats.reserved_bytes[agg].current)));
  arr.Set(3u, Napi::Number::New(env, static_cast<double>(stats.reserved_bytes[agg].peak)));
#else
  throw Napi::Error::New(env, "cuda memory stats: this build of tsvision has no CUDA support");
#endif
  return arr;
  TSV_CATCH("cuda.memoryStats")
}

Napi::Value CudaResetPeak(const Napi::CallbackInfo& info) {
  TSV_TRY
#ifdef TSV_WITH_CUDA
  int dev = info[0].As<Napi::Number>().Int32Value();
  checkCudaDevice(info.Env(), dev, "cuda.resetPeakMemoryStats");
  c10::cuda::CUDACachingAllocator::resetPeakStats(dev);
#else
  throw Napi::Error::New(info.Env(), "cuda.resetPeakMemoryStats: this build of tsvision has no CUDA support");
#endif
  return info.Env().Undefined();
  TSV_CATCH("cuda.resetPeakMemoryStats")
}

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
#ifdef TSV_WITH_CUDA
  o.Set("cuda", true);
#else
  o.Set("cuda", false);
#endif
  o.Set("parallel", at::get_parallel_info());
  return o;
}

}  // namespace

void registerRuntime(Napi::Env env, Napi::Object exports) {
  TSV_EXPORT("manualSeed", ManualSeed);
  TSV_EXPORT("getRngState", GetRngState);
  TSV_EXPORT("setRngState", SetRngState);
  TSV_EXPORT("setNumThreads", SetNumThreads);
  TSV_EXPORT("getNumThreads", GetNumThreads);
  TSV_EXPORT("cudaIsAvailable", CudaIsAvailable);
  TSV_EXPORT("cudaDeviceCount", CudaDeviceCount);
  TSV_EXPORT("cudaSynchronize", CudaSynchronize);
  TSV_EXPORT("cudaMemoryStats", CudaMemoryStats);
  TSV_EXPORT("cudaResetPeak", CudaResetPeak);
  TSV_EXPORT("buildInfo", BuildInfo);
}

}  // namespace tsv

