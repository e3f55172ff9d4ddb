// Runtime controls: seeding, threads, CUDA queries and memory statistics.
#include "common.h"

#include <cstring>

#include <ATen/Parallel.h>
#include <ATen/Context.h>
#include <ATen/CPUGeneratorImpl.h>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>
#include <ATen/detail/CUDAHooksInterface.h>

#include <dlfcn.h>
#include <sys/mman.h>
#include <map>
#include <unordered_map>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#ifdef TSV_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace tsv {

std::atomic<bool> gFlushDenormal{false};

namespace {

// The settings below (seed, threads, flush-denormal) are libtorch's, process-wide: every Node
// environment (the main thread, each Worker) sees the same. Changes are serialised here;
// at::manual_seed locks the generators itself.
std::mutex gRuntimeMutex;

// Seeds are integers in [0, 2^53 - 1]: PyTorch takes any 64-bit integer, but a JavaScript
// number above 2^53 - 1 is no longer an exact integer (manualSeed(2 ** 53 + 1) would seed
// 2^53), and negative seeds only alias large ones (PyTorch reads -1 as 2^64 - 1).
constexpr int64_t kMaxSeed = (int64_t{1} << 53) - 1;

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  TSV_TRY
  const int64_t seed = intArg(info, 0, "manualSeed", "seed", 0, kMaxSeed);
  at::manual_seed(static_cast<uint64_t>(seed));
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

// ---- flush-denormal (FTZ + DAZ) on every thread that runs CPU kernels ----------------
// at::globalContext().setFlushDenormal() (torch.set_flush_denormal) writes only the calling
// thread's floating-point control register (MXCSR on x86); libtorch's intra-op workers keep
// their own. Threads inherit the register from the thread that creates them, so a pool
// started after the call has it, but one already running (or workers parked by a smaller
// set_num_threads and reused when it grows again) does not: the setting is applied here
// inside one parallel region that spans the whole intra-op team, and again in setNumThreads.
// The JavaScript thread (a member of the team) gets its register back afterwards and has
// the setting only while native code runs (entry() in common.h).
//
// With libtorch's OpenMP backend (Debian's 1.13, the pip wheels), at::parallel_for is an
// inline template whose `#pragma omp parallel` is compiled into the caller: this addon is
// not built with -fopenmp, so here it would run serially. The region is therefore opened
// through libgomp's entry point GOMP_parallel (what `#pragma omp parallel` compiles to),
// looked up in libtorch_cpu's dependency tree (the pip wheels ship a renamed libgomp); with
// num_threads 0 the team is the one libtorch's own regions get (omp_get_max_threads(),
// which at::set_num_threads sets), each member running the body exactly once. Without
// libgomp (the native thread-pool backend), at::parallel_for does run in libtorch's pool:
// each of get_num_threads() tasks waits at a barrier (bounded, never a deadlock) until all
// have started, so no worker takes two tasks while another takes none.
// CPU work on the inter-op pool (at::launch, TorchScript forks) is not covered: tsvision
// runs none there.

using GompParallel = void (*)(void (*)(void*), void*, unsigned, unsigned);

GompParallel gompParallel() {
  static const GompParallel fn = []() -> GompParallel {
    Dl_info di{};
    if (dladdr(reinterpret_cast<void*>(&at::get_num_threads), &di) && di.dli_fname) {
      // kept open: a handle to an already loaded library, for the process's lifetime
      if (void* h = dlopen(di.dli_fname, RTLD_LAZY | RTLD_NOLOAD)) {
        if (void* s = dlsym(h, "GOMP_parallel")) return reinterpret_cast<GompParallel>(s);
      }
    }
    return reinterpret_cast<GompParallel>(dlsym(RTLD_DEFAULT, "GOMP_parallel"));
  }();
  return fn;
}

// Whether the calling thread flushes subnormals (x86: MXCSR FTZ and DAZ; arm64: FPCR.FZ).
bool threadFlushesDenormal() {
#if defined(__x86_64__) || defined(__i386__)
  return (_mm_getcsr() & 0x8040) == 0x8040;
#elif defined(__aarch64__)
  uint64_t fpcr;
  asm volatile("mrs %0, fpcr" : "=r"(fpcr));
  return (fpcr >> 24) & 1;
#else
  return false;
#endif
}

// Runs `body(i)` once on each thread of the intra-op team (the caller among them; i counts
// arrivals, 0 .. size - 1) and returns the team size.
template <typename Body>
int onEveryIntraOpThread(const Body& body) {
  struct Ctx {
    const Body* body;
    std::atomic<int> next{0};
  } ctx{&body};
  if (GompParallel par = gompParallel()) {
    // inside a parallel region libgomp would nest a team of one: only the caller
    if (at::in_parallel_region()) {
      body(0);
      return 1;
    }
    par(
        [](void* p) {
          auto* c = static_cast<Ctx*>(p);
          (*c->body)(c->next.fetch_add(1));
        },
        &ctx, 0, 0);
    return ctx.next.load();
  }
  const int n = at::get_num_threads();
  std::atomic<int> started{0};
  at::parallel_for(0, n, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      body(ctx.next.fetch_add(1));
      started.fetch_add(1);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
    while (started.load() < n && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  });
  return ctx.next.load();
}

// -1: never requested (libtorch's default, nothing applied); 0 / 1: last request, re-applied
// when setNumThreads changes the pool.
std::atomic<int> flushDenormalRequested{-1};

// Sets (on) or clears the state on every intra-op thread; the caller's own register comes
// back as it was (entry() gives it the state for the duration of each native call).
bool applyFlushDenormal(bool on) {
  FpControlGuard guard;
  const bool supported = at::globalContext().setFlushDenormal(on);
  onEveryIntraOpThread([on](int) { at::globalContext().setFlushDenormal(on); });
  gFlushDenormal.store(on && supported);
  return supported;
}

// setFlushDenormal(on) -> whether the CPU supports it (as torch.set_flush_denormal)
Napi::Value SetFlushDenormal(const Napi::CallbackInfo& info) {
  TSV_TRY
  if (!info[0].IsBoolean()) throw Napi::TypeError::New(info.Env(), "setFlushDenormal: expected a boolean");
  const bool on = info[0].As<Napi::Boolean>().Value();
  std::lock_guard<std::mutex> lock(gRuntimeMutex);
  flushDenormalRequested.store(on ? 1 : 0);
  return Napi::Boolean::New(info.Env(), applyFlushDenormal(on));
  TSV_CATCH("setFlushDenormal")
}

// flushDenormalThreads() -> for each thread of the intra-op team (the calling thread, as
// native code sees it, among them): whether it flushes subnormals.
Napi::Value FlushDenormalThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TSV_TRY
  std::vector<char> states(1024, 0);
  const int n = onEveryIntraOpThread([&states](int i) {
    if (i < static_cast<int>(states.size())) states[i] = threadFlushesDenormal();
  });
  auto arr = Napi::Array::New(env);
  for (int i = 0; i < n && i < static_cast<int>(states.size()); i++) arr.Set(static_cast<uint32_t>(i), Napi::Boolean::New(env, states[i] != 0));
  return arr;
  TSV_CATCH("flushDenormalThreads")
}

// More intra-op threads than this is a mistake (a thread count read from the wrong place),
// not a machine: OpenMP would try to start them all.
constexpr int64_t kMaxThreads = 1024;

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  TSV_TRY
  const int n = static_cast<int>(intArg(info, 0, "setNumThreads", "n", 1, kMaxThreads));
  std::lock_guard<std::mutex> lock(gRuntimeMutex);
  at::set_num_threads(n);
  // a grown pool has new workers: give them the requested flush-denormal state
  const int fd = flushDenormalRequested.load();
  if (fd >= 0) applyFlushDenormal(fd == 1);
  return info.Env().Undefined();
  TSV_CATCH("setNumThreads")
}

// ---- CPU block cache ----
// libtorch's default CPU allocator calls posix_memalign/free for every tensor. glibc serves each
// block above 32 MB (the ceiling of its dynamic mmap threshold) with a fresh mmap and unmaps it on
// free, so every large activation pays page faults on first write (FCN R-50-D8 at 512x1024, bench/
// seg_speed against mmseg, 5 forwards a side: sys 18.9 s of 59.1 s; see bench/README). Forcing such blocks into the
// heap instead (mallopt) does not help: posix_memalign's padding keeps an exact-size freed chunk
// from serving the next request of the same size, and the heap kept growing in a 64 MB allocate/free loop.
//
// The cache below does on the CPU what PyTorch's CUDA caching allocator does on the device: blocks
// of at least 1 MiB are mmapped at sizes rounded up (to 1/16 of their power of two, 64 KiB at
// least: at most 6.25 % waste) and, when freed, kept by size for the next request of that size (or
// up to a quarter larger); smaller blocks go to libtorch's own alloc_cpu/free_cpu. Cached (free)
// bytes are capped (TSVISION_CPU_CACHE_MB, set from JavaScript; a quarter of physical memory by
// default): a block freed past the cap is unmapped. emptyCache() unmaps every cached block.
constexpr size_t kCacheMinBlock = size_t(1) << 20;

size_t cacheRound(size_t n) {
  // no power of two above n fits in size_t past 2^62: such a request cannot be met anyway
  TORCH_CHECK(n <= (size_t(1) << 62), "CPU block cache: can't allocate memory: you tried to allocate ", n, " bytes");
  size_t p = 1;
  while (p < n) p <<= 1;
  const size_t q = std::max<size_t>(p / 16, size_t(64) << 10);
  return (n + q - 1) / q * q;
}

struct CpuBlockCache {
  std::mutex mu;
  std::unordered_map<void*, size_t> live;  // large blocks in use: pointer -> mapped size
  std::multimap<size_t, void*> free;       // cached blocks by mapped size
  size_t liveBytes = 0, cachedBytes = 0, limit = 0;
  uint64_t hits = 0, misses = 0;

  void* take(size_t n) {
    const size_t size = cacheRound(n);
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = free.lower_bound(size);
      if (it != free.end() && it->first <= size + size / 4) {
        void* p = it->second;
        const size_t got = it->first;
        free.erase(it);
        cachedBytes -= got;
        live.emplace(p, got);
        liveBytes += got;
        hits++;
        return p;
      }
      misses++;
    }
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      // the cache may hold what the system lacks
      releaseAll();
      p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      TORCH_CHECK(p != MAP_FAILED, "CPU block cache: can't allocate memory: you tried to allocate ", n, " bytes (mmap of ", size, " failed)");
    }
    std::lock_guard<std::mutex> lock(mu);
    live.emplace(p, size);
    liveBytes += size;
    return p;
  }

  // Returns false for a pointer the cache did not map (a small block: libtorch's).
  bool give(void* p) {
    size_t size;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = live.find(p);
      if (it == live.end()) return false;
      size = it->second;
      live.erase(it);
      liveBytes -= size;
      if (cachedBytes + size <= limit) {
        free.emplace(size, p);
        cachedBytes += size;
        return true;
      }
    }
    munmap(p, size);
    return true;
  }

  void releaseAll() {
    std::multimap<size_t, void*> out;
    {
      std::lock_guard<std::mutex> lock(mu);
      out.swap(free);
      cachedBytes = 0;
    }
    for (auto& [size, p] : out) munmap(p, size);
  }
};

CpuBlockCache& blockCache() {
  static CpuBlockCache* c = new CpuBlockCache();  // never destroyed: tensors may outlive static destruction
  return *c;
}

void deleteCpuBlock(void* p) {
  if (p != nullptr && !blockCache().give(p)) c10::free_cpu(p);
}

// at::Allocator's interface differs across libtorch versions: 1.13's allocate is const, 2.x's is
// not, and 2.x adds a pure copy_data. Both allocate overloads (and copy_data) are declared without
// `override`: whichever matches the base's virtual overrides it, the other is a plain overload.
struct CachingCpuAllocator final : at::Allocator {
  static at::DataPtr allocateBlock(size_t n) {
    void* p = n >= kCacheMinBlock ? blockCache().take(n) : c10::alloc_cpu(n);
    return {p, p, &deleteCpuBlock, at::Device(at::DeviceType::CPU)};
  }
  at::DataPtr allocate(size_t n) const { return allocateBlock(n); }
  at::DataPtr allocate(size_t n) { return allocateBlock(n); }
  void copy_data(void* dest, const void* src, std::size_t count) const {
    if (count > 0) std::memcpy(dest, src, count);
  }
  at::DeleterFnPtr raw_deleter() const override { return &deleteCpuBlock; }
};

CachingCpuAllocator gCachingCpuAllocator;

// setCpuCache(on, limitBytes): installs the caching allocator (or libtorch's default) for new CPU
// tensors and sets the cap on cached bytes; switching it off also unmaps the cached blocks (blocks
// still in use return to the cache's bookkeeping when freed, and are unmapped then).
Napi::Value SetCpuCache(const Napi::CallbackInfo& info) {
  TSV_TRY
  if (info.Length() < 2 || !info[0].IsBoolean() || !info[1].IsNumber()) throw Napi::TypeError::New(info.Env(), "setCpuCache(on: boolean, limitBytes: number)");
  const bool on = info[0].As<Napi::Boolean>().Value();
  const double limit = info[1].As<Napi::Number>().DoubleValue();
  if (!(limit >= 0)) throw Napi::RangeError::New(info.Env(), "setCpuCache: limitBytes should be >= 0");
  std::lock_guard<std::mutex> lock(gRuntimeMutex);
  {
    std::lock_guard<std::mutex> l(blockCache().mu);
    blockCache().limit = on ? static_cast<size_t>(limit) : 0;
  }
  // priority 255: above libtorch's default (0) both ways, so the last call wins
  c10::SetCPUAllocator(on ? static_cast<at::Allocator*>(&gCachingCpuAllocator) : c10::GetDefaultCPUAllocator(), 255);
  if (!on) blockCache().releaseAll();
  return info.Env().Undefined();
  TSV_CATCH("setCpuCache")
}

Napi::Value CpuCacheEmpty(const Napi::CallbackInfo& info) {
  TSV_TRY
  blockCache().releaseAll();
  return info.Env().Undefined();
  TSV_CATCH("cpuCacheEmpty")
}

// [bytes of large blocks in use, bytes cached, cap, hits, misses, whether the cache is installed]
Napi::Value CpuCacheStats(const Napi::CallbackInfo& info) {
  TSV_TRY
  auto& c = blockCache();
  std::lock_guard<std::mutex> lock(c.mu);
  auto arr = Napi::Array::New(info.Env(), 6);
  arr.Set(0u, Napi::Number::New(info.Env(), static_cast<double>(c.liveBytes)));
  arr.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(c.cachedBytes)));
  arr.Set(2u, Napi::Number::New(info.Env(), static_cast<double>(c.limit)));
  arr.Set(3u, Napi::Number::New(info.Env(), static_cast<double>(c.hits)));
  arr.Set(4u, Napi::Number::New(info.Env(), static_cast<double>(c.misses)));
  arr.Set(5u, Napi::Boolean::New(info.Env(), c10::GetCPUAllocator() == &gCachingCpuAllocator));
  return arr;
  TSV_CATCH("cpuCacheStats")
}

// glibc's malloc statistics (mallinfo2): [heap bytes from sbrk, bytes in mmapped chunks, free heap
// bytes], or null off glibc; for tests of the reuse policy and memory reports.
Napi::Value MallocStats(const Napi::CallbackInfo& info) {
  TSV_TRY
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  const struct mallinfo2 m = mallinfo2();
  auto arr = Napi::Array::New(info.Env(), 3);
  arr.Set(0u, Napi::Number::New(info.Env(), static_cast<double>(m.arena)));
  arr.Set(1u, Napi::Number::New(info.Env(), static_cast<double>(m.hblkhd)));
  arr.Set(2u, Napi::Number::New(info.Env(), static_cast<double>(m.fordblks)));
  return arr;
#else
  return info.Env().Null();
#endif
  TSV_CATCH("mallocStats")
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
  TSV_EXPORT("setCpuCache", SetCpuCache);
  TSV_EXPORT("cpuCacheEmpty", CpuCacheEmpty);
  TSV_EXPORT("cpuCacheStats", CpuCacheStats);
  TSV_EXPORT("mallocStats", MallocStats);
  TSV_EXPORT("setFlushDenormal", SetFlushDenormal);
  TSV_EXPORT("flushDenormalThreads", FlushDenormalThreads);
  TSV_EXPORT("cudaIsAvailable", CudaIsAvailable);
  TSV_EXPORT("cudaDeviceCount", CudaDeviceCount);
  TSV_EXPORT("cudaSynchronize", CudaSynchronize);
  TSV_EXPORT("cudaMemoryStats", CudaMemoryStats);
  TSV_EXPORT("cudaResetPeak", CudaResetPeak);
  TSV_EXPORT("buildInfo", BuildInfo);
}

}  // namespace tsv

