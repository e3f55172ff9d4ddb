// Distributed training on libtorch's c10d: TCPStore / FileStore rendezvous, a Gloo (CPU) or,
// in CUDA builds, NCCL (GPU) process group over a store, its collectives, and their Work handles
// (blocking and Promise waits).
//
// Stores, process groups and works are JavaScript externals (type-tagged, so one kind is never
// read as another) that hold a c10::intrusive_ptr. close() drops the pointer at once, so a
// process group's threads and sockets go away deterministically; the externals' finalizers
// are only a safety net. A closed handle passed to any function is an Error.
//
// Collectives work in place on the tensors they are given (as torch.distributed): outputs
// (allgather, reduce_scatter) are allocated by the caller. The Work keeps its own references
// to the tensors, so disposing a JavaScript tensor while a collective runs is safe.
#include "distributed.h"

#ifdef TSV_WITH_C10D
#include "c10d_handles.h"

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef TSV_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef TSV_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace tsv {

namespace {

// Type tags of the stores' and works' externals (random 128-bit constants; the process
// group's is in c10d_handles.h).
constexpr napi_type_tag kStoreTag = {0x6b1d3e0f2a4c4d11ULL, 0x9a3f5e7c1b2d4e60ULL};
constexpr napi_type_tag kWorkTag = {0x5d8f1b3c7e9a4f33ULL, 0x7c5e9b2d4f6a8b82ULL};

struct StoreBox {
  c10::intrusive_ptr<c10d::Store> store;
  std::string kind;  // "TCPStore" / "FileStore"
};
struct WorkBox {
  c10::intrusive_ptr<c10d::Work> work;
  std::string op;
};

c10d::Store& liveStore(const Napi::CallbackInfo& info, size_t i, const char* op) {
  auto& b = unbox<StoreBox>(info, i, kStoreTag, op, "store");
  if (!b.store) throw Napi::Error::New(info.Env(), std::string(op) + ": the store is closed");
  return *b.store;
}

std::string stringArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (!info[i].IsString()) throw Napi::TypeError::New(info.Env(), std::string(op) + ": " + name + " should be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

std::chrono::milliseconds msArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  return std::chrono::milliseconds(intArg(info, i, op, name, 0, int64_t{1} << 40));
}

c10d::ReduceOp reduceOpArg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  // c10d::ReduceOp::RedOpType: SUM 0, AVG 1, PRODUCT 2, MIN 3, MAX 4, BAND 5, BOR 6, BXOR 7
  auto code = intArg(info, i, op, "reduceOp", 0, 7);
  return c10d::ReduceOp(static_cast<c10d::ReduceOp::RedOpType>(code));
}

Napi::Value workValue(Napi::Env env, c10::intrusive_ptr<c10d::Work> work, const char* op) {
  return box(env, new WorkBox{std::move(work), op}, kWorkTag);
}

// ---------------------------------------------------------------- stores

// tcpStore(host, port, worldSize, isServer, timeoutMs, waitWorkers)
Napi::Value TcpStore(const Napi::CallbackInfo& info) {
  TSV_TRY
  const char* op = "tcpStore";
  c10d::TCPStoreOptions opts;
  std::string host = stringArg(info, 0, op, "host");
  opts.port = static_cast<std::uint16_t>(intArg(info, 1, op, "port", 0, 65535));
  opts.numWorkers = static_cast<std::size_t>(intArg(info, 2, op, "worldSize", 1, 1 << 20));
  opts.isServer = boolArg(info, 3, op, "isServer");
  opts.timeout = msArg(info, 4, op, "timeoutMs");
  opts.waitWorkers = boolArg(info, 5, op, "waitWorkers");
  auto store = c10::make_intrusive<c10d::TCPStore>(host, opts);
  return box(info.Env(), new StoreBox{store, "TCPStore"}, kStoreTag);
  TSV_CATCH("tcpStore")
}

// fileStore(path, worldSize, timeoutMs)
Napi::Value FileStoreNew(const Napi::CallbackInfo& info) {
  TSV_TRY
  const char* op = "fileStore";
  std::string path = stringArg(info, 0, op, "path");
  int world = static_cast<int>(intArg(info, 1, op, "worldSize", 1, 1 << 20));
  auto timeout = msArg(info, 2, op, "timeoutMs");
  auto store = c10::make_intrusive<c10d::FileStore>(path, world);
  store->setTimeout(timeout);
  return box(info.Env(), new StoreBox{store, "FileStore"}, kStoreTag);
  TSV_CATCH("fileStore")
}

// storeSet(store, key, value: string | Uint8Array)
Napi::Value StoreSet(const Napi::CallbackInfo& info) {
  TSV_TRY
  auto& store = liveStore(info, 0, "storeSet");
  std::string key = stringArg(info, 1, "storeSet", "key");
  std::vector<uint8_t> value;
  if (info[2].IsString()) {
    std::string s = info[2].As<Napi::String>().Utf8Value();
    value.assign(s.begin(), s.end());
  } else if (info[2].IsTypedArray() && info[2].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    auto a = info[2].As<Napi::Uint8Array>();
    value.assign(a.Data(), a.Data() + a.ElementLength());
  } else {
    throw Napi::TypeError::New(info.Env(), "storeSet: value should be a string or a Uint8Array");
  }
  store.set(key, value);
  return info.Env().Undefined();
  TSV_CATCH("storeSet")
}

// storeGet(store, key) -> Uint8Array (waits for the key up to the store's timeout)
Napi::Value StoreGet(const Napi::CallbackInfo& info) {
  TSV_TRY
  auto& store = liveStore(info, 0, "storeGet");
  std::string key = stringArg(info, 1, "storeGet", "key");
  std::vector<uint8_t> value = store.get(key);
  auto out = Napi::Uint8Array::New(info.Env(), value.size());
  if (!value.empty()) std::memcpy(out.Data(), value.data(), value.size());
  return out;
  TSV_CATCH("storeGet")
}

// storeAdd(store, key, delta) -> the new value
Napi::Value StoreAdd(const Napi::CallbackInfo& info) {
  TSV_TRY
  auto& store = liveStore(info, 0, "storeAdd");
  std::string key = stringArg(info, 1, "storeAdd", "key");
  int64_t delta = intArg(info, 2, "storeAdd", "delta", -(int64_t{1} << 53) + 1, (int64_t{1} << 53) - 1);
  return Napi::Number::New(info.Env(), static_cast<double>(store.add(key, delta)));
  TSV_CATCH("storeAdd")
}

// storeSetTimeout(store, timeoutMs) -> the previous timeout: what later operations wait at most (a
// key not set yet, a server that does not answer).
Napi::Value StoreSetTimeout(const Napi::CallbackInfo& info) {
  TSV_TRY
  auto& store = liveStore(info, 0, "storeSetTimeout");
  auto timeout = msArg(info, 1, "storeSetTimeout", "timeoutMs");
  double previous = static_cast<double>(store.getTimeout().count());
  store.setTimeout(timeout);
  return Napi::Number::New(info.Env(), previous);
  TSV_CATCH("storeSetTimeout")
}

// storeClose(store): drops the binding's reference (a TCPStore server stops when the last
// process group using it is closed too). Closing twice is a no-op.
Napi::Value StoreClose(const Napi::CallbackInfo& info) {
  TSV_TRY
  auto& b = unbox<StoreBox>(info, 0, kStoreTag, "storeClose", "store");
  b.store.reset();
  return info.Env().Undefined();
  TSV_CATCH("storeClose")
}

// ---------------------------------------------------------------- process group

// The arguments both process groups start with, (store, rank, worldSize, timeoutMs), and the key
// prefix (argument prefixAt).
struct GroupArgs {
  c10::intrusive_ptr<c10d::Store> store;
  int rank;
  int size;
  std::chrono::milliseconds timeout;
  std::string prefix;

  // The store of the group's rendezvous: under the prefix, with the group's timeout (the
  // rendezvous waits on the store with the store's timeout).
  c10::intrusive_ptr<c10d::Store> rendezvousStore() const {
    store->setTimeout(timeout);
    if (prefix.empty()) return store;
    return c10::make_intrusive<c10d::PrefixStore>(prefix, store);
  }
};

GroupArgs groupArgs(const Napi::CallbackInfo& info, const char* op, size_t prefixAt) {
  auto& sb = unbox<StoreBox>(info, 0, kStoreTag, op, "store");
  if (!sb.store) throw Napi::Error::New(info.Env(), std::string(op) + ": the store is closed");
  int size = static_cast<int>(intArg(info, 2, op, "worldSize", 1, 1 << 20));
  int rank = static_cast<int>(intArg(info, 1, op, "rank", 0, size - 1));
  return {sb.store, rank, size, msArg(info, 3, op, "timeoutMs"), stringArg(info, prefixAt, op, "prefix")};
}

// A group of backend B (its rendezvous happens here: blocks until every rank has joined) as a
// process-group handle.
template <typename B>
Napi::Value newGroup(Napi::Env env, const GroupArgs& g, c10::intrusive_ptr<typename B::Options> opts, bool nccl) {
  auto store = g.rendezvousStore();
  auto backend = c10::make_intrusive<B>(store, g.rank, g.size, std::move(opts));
  return box(env, new GroupBox{asProcessGroup(store, g.rank, g.size, backend, nccl), nccl}, kGroupTag);
}

// processGroupGloo(store, rank, size, timeoutMs, deviceKind: 'hostname'|'interface'|'default',
//                  deviceName, prefix, threads)
Napi::Value ProcessGroupGlooNew(const Napi::CallbackInfo& info) {
  TSV_TRY
  const char* op = "processGroupGloo";
#ifndef TSV_WITH_GLOO
  throw Napi::Error::New(info.Env(), std::string(op) + ": the addon was built without Gloo (gloo/config.h was not found under libtorch's "
                                                       "include directories; a pip PyTorch ships none): use the 'nccl' backend");
#else
  GroupArgs g = groupArgs(info, op, 6);
  std::string kind = stringArg(info, 4, op, "deviceKind");
  std::string name = stringArg(info, 5, op, "deviceName");
  int threads = static_cast<int>(intArg(info, 7, op, "threads", 1, 64));

  auto opts = c10d::ProcessGroupGloo::Options::create(g.timeout);
  if (kind == "hostname") {
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(name));
  } else if (kind == "interface") {
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
  } else if (kind == "default") {
    opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  } else {
    throw Napi::TypeError::New(info.Env(), std::string(op) + ": deviceKind should be 'hostname', 'interface' or 'default'");
  }
  opts->threads = threads;
  return newGroup<c10d::ProcessGroupGloo>(info.Env(), g, std::move(opts), /*nccl=*/false);
#endif
  TSV_CATCH("processGroupGloo")
}

// processGroupNccl(store, rank, size, timeoutMs, prefix, highPriorityStream)
//
// Communicators are created lazily, by the first collective, for the device of its tensors (one
// GPU per process). timeoutMs bounds the rendezvous; for collectives NCCL's watchdog applies it
// (TORCH_NCCL_ASYNC_ERROR_HANDLING, TORCH_NCCL_BLOCKING_WAIT: see torch.distributed's notes).
Napi::Value ProcessGroupNcclNew(const Napi::CallbackInfo& info) {
  TSV_TRY
  const char* op = "processGroupNccl";
#ifndef TSV_WITH_NCCL
  throw Napi::Error::New(info.Env(), std::string(op) + ": the addon was built without NCCL (only a CUDA libtorch, e.g. a pip PyTorch's "
                                                       "selected by LIBTORCH_DIR, has it): use the 'gloo' backend");
#else
  GroupArgs g = groupArgs(info, op, 4);
  bool highPriority = boolArg(info, 5, op, "highPriorityStream");
  auto opts = c10d::ProcessGroupNCCL::Options::create(highPriority);
  opts->timeout = g.timeout;
  return newGroup<c10d::ProcessGroupNCCL>(info.Env(), g, std::move(opts), /*nccl=*/true);
#endif
  TSV_CATCH("processGroupNccl")
}

template <typename T, typename = void>
struct HasShutdown : std::false_type {};
template <typename T>
struct HasShutdown<T, std::void_t<decltype(std::declval<T&>().shutdown())>> : std::true_type {};

// ProcessGroup::shutdown (libtorch 2.x), as destroy_process_group calls it: NCCL's orderly
// teardown of its communicators (its destructor would abort them, warning that the group was not
// destroyed). Only when this handle holds the last reference: a Reducer or an autograd node that
// still holds the group keeps it working, and its destructor tears it down later.
template <typename PG>
void shutdownIfLast(c10::intrusive_ptr<PG>& pg) {
  if constexpr (HasShutdown<PG>::value) {
    if (pg && pg.use_count() == 1) pg->shutdown();
  }
}

// processGroupClose(pg): waits for the queued collectives to leave the queue, stops the worker
// threads and closes the connections. Closing twice is a no-op.
Napi::Value ProcessGroupClose(const Napi::CallbackInfo& info) {
  TSV_TRY
  auto& b = unbox<GroupBox>(info, 0, kGroupTag, "processGroupClose", "process group");
  auto pg = std::move(b.pg);
  if (b.nccl) shutdownIfLast(pg);
  pg.reset();
  return info.Env().Undefined();
  TSV_CATCH("processGroupClose")
}

// allreduce(pg, tensors, reduceOp) -> work
Napi::Value Allreduce(const Napi::CallbackInfo& info) {
  TSV_TRY
  auto& g = liveGroup(info, 0, "allreduce");
  auto& pg = *g.pg;
  auto tensors = tensorList(info, 1, "allreduce", "tensors", &g);
  c10d::AllreduceOptions opts;
  opts.reduceOp = reduceOpArg(info, 2, "allreduce");
  return workValue(info.Env(), pg.allreduce(tensors, opts), "allreduce");
  TSV_CATCH("allreduce")
}

// broadcast(pg, tensors, root) -> work
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  TSV_TRY
  auto& g = liveGroup(info, 0, "broadcast");
  auto& pg = *g.pg;
  auto tensors = tensorList(info, 1, "broadcast", "tensors", &g);
  c10d::BroadcastOptions opts;
  opts.rootRank = intArg(info, 2, "broadcast", "root", 0, pg.getSize() - 1);
  return workValue(info.Env(), pg.broadcast(tensors, opts), "broadcast");
  TSV_CATCH("broadcast")
}

// allgather(pg, outputs (one per rank), input) -> work
Napi::Value Allgather(const Napi::CallbackInfo& info) {
  TSV_TRY
  auto& g = liveGroup(info, 0, "allgather");
  auto& pg = *g.pg;
  std::vector<std::vector<at::Tensor>> outputs{tensorList(info, 1, "allgather", "outputs", &g)};
  std::vector<at::Tensor> inputs{unwrap(info.Env(), info[2], "input")};
  checkGroupTensor(info.Env(), g, inputs[0], "allgather", "input");
  return workValue(info.Env(), pg.allgather(outputs, inputs), "allgather");
  TSV_CATCH("allgather")
}

// reduceScatter(pg, output, inputs (one per rank), reduceOp) -> work
// (libtorch 1.13's Gloo throws "ProcessGroupGloo does not support reduce_scatter"; the
// TypeScript layer then falls back to allreduce.)
Napi::Value ReduceScatter(const Napi::CallbackInfo& info) {
  TSV_TRY
  auto& g = liveGroup(info, 0, "reduceScatter");
  auto& pg = *g.pg;
  std::vector<at::Tensor> outputs{unwrap(info.Env(), info[1], "output")};
  checkGroupTensor(info.Env(), g, outputs[0], "reduceScatter", "output");
  std::vector<std::vector<at::Tensor>> inputs{tensorList(info, 2, "reduceScatter", "inputs", &g)};
  c10d::ReduceScatterOptions opts;
  opts.reduceOp = reduceOpArg(info, 3, "reduceScatter");
  return workValue(info.Env(), pg.reduce_scatter(outputs, inputs, opts), "reduceScatter");
  TSV_CATCH("reduceScatter")
}

// barrier(pg, timeoutMs, cudaDevice (NCCL: the device this rank uses; -1: let c10d guess)) -> work
Napi::Value Barrier(const Napi::CallbackInfo& info) {
  TSV_TRY
  auto& g = liveGroup(info, 0, "barrier");
  auto& pg = *g.pg;
  c10d::BarrierOptions opts;
  auto t = msArg(info, 1, "barrier", "timeoutMs");
  if (t.count() > 0) opts.timeout = t;
  int64_t cudaDevice = intArg(info, 2, "barrier", "cudaDevice", -1, 1 << 20);
  if (g.nccl && cudaDevice >= 0) opts.device_ids = {cudaDevice};
  return workValue(info.Env(), pg.barrier(opts), "barrier");
  TSV_CATCH("barrier")
}

// ---------------------------------------------------------------- work

WorkBox& workArg(const Napi::CallbackInfo& info, const char* op) {
  auto& b = unbox<WorkBox>(info, 0, kWorkTag, op, "work");
  if (!b.work) throw Napi::Error::New(info.Env(), std::string(op) + ": the work was released");
  return b;
}

// workWait(work, timeoutMs (0: no bound but the group's)) -> true; throws the collective's error
Napi::Value WorkWait(const Napi::CallbackInfo& info) {
  auto& b = workArg(info, "workWait");
  auto timeout = msArg(info, 1, "workWait", "timeoutMs");
  try {
    return Napi::Boolean::New(info.Env(), b.work->wait(timeout));
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw Napi::Error::New(info.Env(), describeException(std::current_exception(), b.op));
  }
}

// workIsCompleted(work) -> boolean (finished, successfully or not)
Napi::Value WorkIsCompleted(const Napi::CallbackInfo& info) {
  TSV_TRY
  return Napi::Boolean::New(info.Env(), workArg(info, "workIsCompleted").work->isCompleted());
  TSV_CATCH("workIsCompleted")
}

// workError(work) -> the error message of a failed, completed work, else null
Napi::Value WorkError(const Napi::CallbackInfo& info) {
  TSV_TRY
  auto& b = workArg(info, "workError");
  if (!b.work->isCompleted()) return info.Env().Null();
  auto ep = b.work->exception();
  if (!ep) return info.Env().Null();
  return Napi::String::New(info.Env(), describeException(ep, b.op));
  TSV_CATCH("workError")
}

// workRelease(work): drops the binding's reference (the collective itself goes on).
Napi::Value WorkRelease(const Napi::CallbackInfo& info) {
  TSV_TRY
  unbox<WorkBox>(info, 0, kWorkTag, "workRelease", "work").work.reset();
  return info.Env().Undefined();
  TSV_CATCH("workRelease")
}

// Waits on a libuv pool thread, so the event loop keeps running.
class WaitWorker : public Napi::AsyncWorker {
 public:
  WaitWorker(Napi::Env env, c10::intrusive_ptr<c10d::Work> work, std::string op, std::chrono::milliseconds timeout)
      : Napi::AsyncWorker(env, "tsvision:workWaitAsync"), deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)), op_(std::move(op)), timeout_(timeout) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      ok_ = work_->wait(timeout_);
    } catch (...) {
      SetError(describeException(std::current_exception(), op_));
    }
  }
  void OnOK() override {
    work_.reset();
    deferred_.Resolve(Napi::Boolean::New(Env(), ok_));
  }
  void OnError(const Napi::Error& e) override {
    work_.reset();
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  c10::intrusive_ptr<c10d::Work> work_;
  std::string op_;
  std::chrono::milliseconds timeout_;
  bool ok_ = false;
};

// workWaitAsync(work, timeoutMs) -> Promise<true>, rejected with the collective's error
Napi::Value WorkWaitAsync(const Napi::CallbackInfo& info) {
  TSV_TRY
  auto& b = workArg(info, "workWaitAsync");
  auto timeout = msArg(info, 1, "workWaitAsync", "timeoutMs");
  auto* worker = new WaitWorker(info.Env(), b.work, b.op, timeout);
  Napi::Promise p = worker->promise();
  worker->Queue();
  return p;
  TSV_CATCH("workWaitAsync")
}

}  // namespace

void registerDistributed(Napi::Env env, Napi::Object exports) {
  auto d = Napi::Object::New(env);
#define TSV_DIST(name, F) d.Set(name, Napi::Function::New(env, ::tsv::entry<F>, name))
  TSV_DIST("tcpStore", TcpStore);
  TSV_DIST("fileStore", FileStoreNew);
  TSV_DIST("storeSet", StoreSet);
  TSV_DIST("storeGet", StoreGet);
  TSV_DIST("storeAdd", StoreAdd);
  TSV_DIST("storeSetTimeout", StoreSetTimeout);
  TSV_DIST("storeClose", StoreClose);
  TSV_DIST("processGroupGloo", ProcessGroupGlooNew);
  TSV_DIST("processGroupNccl", ProcessGroupNcclNew);
  TSV_DIST("processGroupClose", ProcessGroupClose);
  TSV_DIST("allreduce", Allreduce);
  TSV_DIST("broadcast", Broadcast);
  TSV_DIST("allgather", Allgather);
  TSV_DIST("reduceScatter", ReduceScatter);
  TSV_DIST("barrier", Barrier);
  TSV_DIST("workWait", WorkWait);
  TSV_DIST("workWaitAsync", WorkWaitAsync);
  TSV_DIST("workIsCompleted", WorkIsCompleted);
  TSV_DIST("workError", WorkError);
  TSV_DIST("workRelease", WorkRelease);
#undef TSV_DIST
  auto backends = Napi::Object::New(env);
#ifdef TSV_WITH_GLOO
  backends.Set("gloo", true);
#else
  backends.Set("gloo", false);
#endif
#ifdef TSV_WITH_NCCL
  backends.Set("nccl", true);
#else
  backends.Set("nccl", false);
#endif
  d.Set("backends", backends);
  registerDdp(env, d);
  registerSyncBatchNorm(env, d);
  exports.Set("distributed", d);
}

}  // namespace tsv

#else  // built without a c10d backend (no Gloo headers, no NCCL): no `distributed` export

namespace tsv {
void registerDistributed(Napi::Env, Napi::Object) {}
}  // namespace tsv

#endif
