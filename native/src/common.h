// Shared pieces of the Node-API binding: tensor handles and error translation.
#pragma once

#include <napi.h>
#include <ATen/ATen.h>

#include <atomic>
#include <cstdint>
#include <string>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace tsv {

// A JavaScript tensor handle is a number: a slot index in a table of tensors plus the
// slot's generation (so a stale handle to a reused slot is detected, never misread) and
// the tag of the Node environment that owns the table: each environment (the main thread,
// each worker thread) has its own table and release queue (binding.cpp, EnvState), and a
// handle used in another environment is an Error, never read as one of its tensors.
// No per-tensor JavaScript object is allocated on the native side and no V8 finalizer
// is attached: disposal is deterministic (dispose(), tidy scopes), and the TypeScript
// layer registers only tensors that escape every scope with a FinalizationRegistry as
// a safety net. Disposing drops the table's reference to the at::Tensor at once.

// Wraps a tensor into a new handle (an undefined tensor becomes null).
Napi::Value wrap(Napi::Env env, at::Tensor t);
// Unwraps argument `value`; throws a TypeError naming `what` for anything that is not a
// live tensor handle. The reference stays valid until the handle is disposed.
const at::Tensor& unwrap(Napi::Env env, const Napi::Value& value, const char* what);

// Converts a caught C++ exception into a pending JavaScript Error.
[[noreturn]] void rethrow(Napi::Env env, const char* where);

// ---- the shared argument layer: scalar arguments of exported functions -----------------
// Each reads argument i of an exported function and throws a TypeError (wrong kind) or a
// RangeError (out of range) of the form "<op>: <name> should be <expected>, got <value>",
// the value as JavaScript prints it. NaN and infinities are never integers.

// Any number, NaN and infinities included.
double numberArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
// A number that is not NaN (infinities allowed, e.g. a threshold that keeps everything).
double notNanArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
// A finite number greater than 0.
double positiveFiniteArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
// An integer in [lo, hi] (hi at most 2^53 - 1: the integers a JavaScript number holds exactly).
int64_t intArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name, int64_t lo, int64_t hi);
// A boolean.
bool boolArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);

// Deferred release: Tensor.dispose() in JavaScript does not call into C++; it appends the
// handle to a queue in memory shared with the binding (an ArrayBuffer exported as
// `releaseQueue`: int32 count, int32 capacity, float64 handles). Every exported function
// frees the queued tensors first, so no call ever sees a disposed tensor as live.
void drainReleases(Napi::Env env);

// Flush-denormal (setFlushDenormal in runtime.cpp): when on, libtorch's intra-op workers
// keep FTZ/DAZ set for good, but the JavaScript thread has it only while native code runs:
// V8 does its double arithmetic on the same thread, and with DAZ set `Number.MIN_VALUE > 0`
// is false. gFlushDenormal is true only when requested and supported by the CPU.
extern std::atomic<bool> gFlushDenormal;

// Saves the calling thread's floating-point control register and restores it on exit.
class FpControlGuard {
 public:
  FpControlGuard() : saved_(read()) {}
  ~FpControlGuard() { write(saved_); }
  FpControlGuard(const FpControlGuard&) = delete;
  FpControlGuard& operator=(const FpControlGuard&) = delete;
  // FTZ + DAZ (x86 MXCSR bits 15 and 6; arm64 FPCR.FZ)
  static void flushDenormal() {
#if defined(__x86_64__) || defined(__i386__)
    write(read() | 0x8040);
#elif defined(__aarch64__)
    write(read() | (uint64_t{1} << 24));
#endif
  }

 private:
#if defined(__x86_64__) || defined(__i386__)
  using Reg = unsigned int;
  static Reg read() { return _mm_getcsr(); }
  static void write(Reg r) { _mm_setcsr(r); }
#elif defined(__aarch64__)
  using Reg = uint64_t;
  static Reg read() { Reg r; asm volatile("mrs %0, fpcr" : "=r"(r)); return r; }
  static void write(Reg r) { asm volatile("msr fpcr, %0" : : "r"(r)); }
#else
  using Reg = int;
  static Reg read() { return 0; }
  static void write(Reg) {}
#endif
  Reg saved_;
};

// An exported function: drains the release queue, then runs F (with subnormals flushed
// on this thread for its duration when flush-denormal is on).
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value entry(const Napi::CallbackInfo& info) {
  if (gFlushDenormal.load(std::memory_order_relaxed)) {
    FpControlGuard guard;
    FpControlGuard::flushDenormal();
    drainReleases(info.Env());
    return F(info);
  }
  drainReleases(info.Env());
  return F(info);
}
#define TSV_EXPORT(name, F) exports.Set(name, Napi::Function::New(env, ::tsv::entry<F>, name))

void registerDetectionOps(Napi::Env env, Napi::Object exports);
void registerRuntime(Napi::Env env, Napi::Object exports);
// c10d (distributed.cpp): exported as the `distributed` object of the binding.
void registerDistributed(Napi::Env env, Napi::Object exports);

}  // namespace tsv

// Every exported function body runs inside TSV_TRY ... TSV_CATCH("name"), so that no
// libtorch error reaches the process as an uncaught C++ exception (abort).
#define TSV_TRY try {
#define TSV_CATCH(where)                  \
  }                                       \
  catch (const Napi::Error&) {            \
    throw;                                \
  }                                       \
  catch (...) {                           \
    ::tsv::rethrow(info.Env(), where);    \
  }
