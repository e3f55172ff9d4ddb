// Handles shared by the c10d files (distributed.cpp: stores, process groups, works; ddp.cpp:
// the Reducer): type-tagged JavaScript externals around C++ objects, the process group's box,
// and argument readers. Only compiled with Gloo's headers (TSV_WITH_GLOO).
#pragma once

#include "common.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include <exception>
#include <string>
#include <vector>

namespace tsv {

// Type tag of the process group's external (a random 128-bit constant).
constexpr napi_type_tag kGroupTag = {0x2c7e9a1b3d5f4e22ULL, 0x8b4d6f1a3c5e7a71ULL};

struct GroupBox {
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
};

// A new external owning `raw` (deleted by its finalizer), tagged with `tag`.
template <typename T>
Napi::Value box(Napi::Env env, T* raw, const napi_type_tag& tag) {
  auto ext = Napi::External<T>::New(env, raw, [](Napi::Env, T* p) { delete p; });
  ext.TypeTag(&tag);
  return ext;
}

// Argument i as the object of an external tagged `tag`; a TypeError "<op>: <what> should be a
// <what> handle" for anything else.
template <typename T>
T& unbox(const Napi::CallbackInfo& info, size_t i, const napi_type_tag& tag, const char* op, const char* what) {
  Napi::Value v = info[i];
  if (!v.IsExternal() || !v.As<Napi::External<T>>().CheckTypeTag(&tag)) {
    throw Napi::TypeError::New(info.Env(), std::string(op) + ": " + what + " should be a " + what + " handle");
  }
  return *v.As<Napi::External<T>>().Data();
}

// Argument i as an open process group; an Error if it was closed.
inline const c10::intrusive_ptr<c10d::ProcessGroupGloo>& liveGroup(const Napi::CallbackInfo& info, size_t i, const char* op) {
  auto& b = unbox<GroupBox>(info, i, kGroupTag, op, "process group");
  if (!b.pg) throw Napi::Error::New(info.Env(), std::string(op) + ": the process group is closed");
  return b.pg;
}

// The live process group of argument i, as the base class; the returned reference keeps the group
// alive (e.g. saved in an autograd node) even if JavaScript closes its handle meanwhile.
inline c10::intrusive_ptr<c10d::ProcessGroup> processGroupArg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  return liveGroup(info, i, op);
}

// Argument i as an array of tensors (a TypeError naming `name` otherwise).
inline std::vector<at::Tensor> tensorList(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), std::string(op) + ": " + name + " should be an array of tensors");
  auto arr = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) out.push_back(unwrap(info.Env(), arr.Get(k), name));
  return out;
}

// A c10 error without its C++ backtrace, prefixed by where it happened.
inline std::string describeException(const std::exception_ptr& ep, const std::string& where) {
  try {
    std::rethrow_exception(ep);
  } catch (const c10::Error& e) {
    return where + ": " + e.what_without_backtrace();
  } catch (const std::exception& e) {
    return where + ": " + e.what();
  } catch (...) {
    return where + ": unknown native error";
  }
}

// Adds the Reducer's functions (ddp.cpp) to the `distributed` object.
void registerDdp(Napi::Env env, Napi::Object distributed);

}  // namespace tsv
