// Shared pieces of the Node-API binding: tensor handles and error translation.
#pragma once

#include <napi.h>
#include <ATen/ATen.h>

#include <string>

namespace tsv {

// A JavaScript tensor handle is a napi External pointing at a Handle. Disposing a
// handle drops its reference to the at::Tensor at once (memory is released as soon
// as libtorch holds no other reference, e.g. from an autograd graph); the External's
// finalizer only frees the small Handle box.
struct Handle {
  at::Tensor tensor;
  bool disposed = false;
  int64_t reportedBytes = 0;  // bytes reported to V8 as external memory
};

// Wraps a tensor into a new External (an undefined tensor becomes null).
Napi::Value wrap(Napi::Env env, at::Tensor t);
// Unwraps argument `value`; throws a TypeError naming `what` for anything that is
// not a live tensor handle.
const at::Tensor& unwrap(Napi::Env env, const Napi::Value& value, const char* what);
Handle* unwrapHandle(Napi::Env env, const Napi::Value& value, const char* what);

// Converts a caught C++ exception into a pending JavaScript Error.
[[noreturn]] void rethrow(Napi::Env env, const char* where);

void registerDetectionOps(Napi::Env env, Napi::Object exports);
void registerRuntime(Napi::Env env, Napi::Object exports);

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
