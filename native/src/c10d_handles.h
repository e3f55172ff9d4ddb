// Handles shared by the c10d files (distributed.cpp: stores, process groups, works; ddp.cpp:
// the Reducer; sync_bn.cpp): type-tagged JavaScript externals around C++ objects, the process
// group's box, and argument readers. Only compiled with a c10d backend (TSV_WITH_C10D: Gloo's
// headers, TSV_WITH_GLOO, and/or a CUDA libtorch's NCCL, TSV_WITH_NCCL).
#pragma once

#include "common.h"

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <algorithm>
#include <exception>
#include <string>
#include <type_traits>
#include <vector>

namespace tsv {

// Type tag of the process group's external (a random 128-bit constant).
constexpr napi_type_tag kGroupTag = {0x2c7e9a1b3d5f4e22ULL, 0x8b4d6f1a3c5e7a71ULL};

// A process group and its backend: Gloo or NCCL.
struct GroupBox {
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  bool nccl;
};

// The devices a group's collectives take: NCCL, CUDA tensors (one GPU per process); Gloo, CPU
// tensors, and CUDA ones too in CUDA builds (copied through the host, as torch.distributed's Gloo
// allows: how several processes share one GPU).
inline const std::vector<c10::DeviceType>& groupDevices(bool nccl) {
  static const std::vector<c10::DeviceType> ncclDevices{c10::DeviceType::CUDA};
#ifdef TSV_WITH_CUDA
  static const std::vector<c10::DeviceType> glooDevices{c10::DeviceType::CPU, c10::DeviceType::CUDA};
#else
  static const std::vector<c10::DeviceType> glooDevices{c10::DeviceType::CPU};
#endif
  return nccl ? ncclDevices : glooDevices;
}

// `backend` (a ProcessGroupGloo / ProcessGroupNCCL) as the c10d::ProcessGroup that collectives,
// the Reducer and SyncBN take. Up to libtorch 1.13 the backends are ProcessGroups themselves;
// from 2.0 they are c10d::Backends, which a ProcessGroup dispatches to by device type (as
// torch.distributed's init_process_group registers them). Templates, so that only the branch
// of the libtorch at hand is compiled.
template <typename B, typename PG = c10d::ProcessGroup>
c10::intrusive_ptr<PG> asProcessGroup(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                      c10::intrusive_ptr<B> backend, bool nccl) {
  if constexpr (std::is_base_of_v<PG, B>) {
    (void)store, (void)rank, (void)size, (void)nccl;
    return backend;
  } else {
    auto pg = c10::make_intrusive<PG>(store, rank, size);
    auto t = PG::strToBackendType(nccl ? "nccl" : "gloo");
    pg->setDefaultBackend(t);
    for (auto device : groupDevices(nccl)) pg->setBackend(device, t, backend);
    pg->setGroupName("0");  // the default group's name in torch.distributed
    return pg;
  }
}

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

// Argument i as the box of an open process group; an Error if it was closed. (Copy its `pg` to
// keep the group alive, e.g. in an autograd node, even if JavaScript closes the handle meanwhile.)
inline GroupBox& liveGroup(const Napi::CallbackInfo& info, size_t i, const char* op) {
  auto& b = unbox<GroupBox>(info, i, kGroupTag, op, "process group");
  if (!b.pg) throw Napi::Error::New(info.Env(), std::string(op) + ": the process group is closed");
  return b;
}

// A TypeError unless `t` is a dense tensor on one of the group's kinds of device ("<op>: <name>[<index>]
// should be a dense CUDA tensor (the group is NCCL's), got ..."; index -1: no index).
inline void checkGroupTensor(Napi::Env env, const GroupBox& g, const at::Tensor& t, const char* op, const char* name, int64_t index = -1) {
  const auto& devices = groupDevices(g.nccl);
  if (t.layout() == at::kStrided && std::find(devices.begin(), devices.end(), t.device().type()) != devices.end()) return;
  std::string kinds;
  for (auto d : devices) kinds += (kinds.empty() ? "" : " or ") + std::string(d == c10::DeviceType::CUDA ? "CUDA" : "CPU");
  std::string what = index < 0 ? std::string(name) : std::string(name) + "[" + std::to_string(index) + "]";
  throw Napi::TypeError::New(env, std::string(op) + ": " + what + " should be a dense " + kinds + " tensor (the group is " +
                                      (g.nccl ? "NCCL" : "Gloo") + "'s), got " + t.toString() + " on " + t.device().str());
}

// Argument i as an array of tensors (a TypeError naming `name` otherwise); with `group`, each on
// the group's kind of device.
inline std::vector<at::Tensor> tensorList(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name,
                                          const GroupBox* group = nullptr) {
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), std::string(op) + ": " + name + " should be an array of tensors");
  auto arr = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) {
    out.push_back(unwrap(info.Env(), arr.Get(k), name));
    if (group) checkGroupTensor(info.Env(), *group, out.back(), op, name, k);
  }
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
