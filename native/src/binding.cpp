// Node-API binding to libtorch.
//
// Operators are called through libtorch's dispatcher by schema ("aten::add.Tensor"),
// boxed: one generic entry point converts JavaScript arguments according to the
// operator's schema, so every ATen operator (with its autograd formula) is reachable
// without one hand-written C++ wrapper per op. The TypeScript layer (src/torch)
// gives each op its typed, PyTorch-shaped signature.

#include "common.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/grad_mode.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

namespace tsv {

namespace {

struct Slot {
  at::Tensor tensor;
  uint32_t generation = 0;
  bool live = false;
  int64_t reportedBytes = 0;  // bytes reported to V8 as external memory
};

// The slot table grows by chunks of 4,096 slots that never move, so references to slots
// stay valid while it grows, and slot i is a shift and a mask away.
constexpr size_t kChunkBits = 12;
constexpr size_t kChunkSize = size_t{1} << kChunkBits;
class SlotTable {
 public:
  size_t size() const { return size_; }
  Slot& operator[](size_t i) { return chunks_[i >> kChunkBits][i & (kChunkSize - 1)]; }
  size_t append() {
    if ((size_ & (kChunkSize - 1)) == 0) chunks_.emplace_back(new Slot[kChunkSize]);
    return size_++;
  }

 private:
  std::vector<std::unique_ptr<Slot[]>> chunks_;
  size_t size_ = 0;
};
// A handle is  (generation * 256 + environment tag) * 2^22 + slot index:  22 bits of index,
// 8 bits naming the Node environment that owns the tensor, 23 bits of slot generation
// (< 2^53 in all, so the handle is an exact JavaScript number).
constexpr double kIndexSpan = 4194304.0;  // 2^22 slots
constexpr uint32_t kTagBits = 8;
constexpr uint32_t kTags = 1u << kTagBits;
constexpr uint32_t kGenerationMask = (1u << 23) - 1;

// The release queue (see common.h), one per environment.
constexpr int32_t kQueueCapacity = 1024;
struct ReleaseQueue {
  int32_t count;
  int32_t capacity;
  double handles[kQueueCapacity];
};

struct OpEntry;

// Environment tags in use: each live Node environment (the main thread, each Worker) has its
// own, so a handle from another environment is recognised, never read as one of ours.
std::mutex gTagMutex;
bool gTagUsed[kTags] = {};
uint32_t gNextTag = 0;

// Everything the binding keeps for one Node environment (napi_set_instance_data): its tensor
// table, its operator table and its release queue. libtorch itself (dispatcher, generators,
// thread pools) is process-wide; these tables are not, so Workers never share them.
struct EnvState {
  napi_env env;
  uint32_t tag;
  SlotTable slots;
  std::vector<uint32_t> free;
  std::vector<std::unique_ptr<OpEntry>> ops;
  // the queue lives in a JavaScript ArrayBuffer (exported as `releaseQueue`), kept alive by
  // this reference for as long as the environment is
  Napi::Reference<Napi::ArrayBuffer> queueRef;
  ReleaseQueue* queue = nullptr;

  ~EnvState();
};

thread_local EnvState* tState = nullptr;  // the last environment used on this thread

EnvState::~EnvState() {
  if (tState == this) tState = nullptr;
  std::lock_guard<std::mutex> lock(gTagMutex);
  gTagUsed[tag] = false;
}

// The calling environment's state (one napi call, skipped while the thread's environment
// stays the same: a thread runs one environment, the main thread or a Worker).
EnvState& stateOf(napi_env env) {
  EnvState* s = tState;
  if (s != nullptr && s->env == env) return *s;
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok || data == nullptr) {
    throw Napi::Error::New(env, "tsvision: the native addon is not initialised in this environment");
  }
  tState = static_cast<EnvState*>(data);
  return *tState;
}

int64_t bytesOf(const at::Tensor& t) {
  if (!t.defined() || !t.device().is_cpu() || !t.has_storage()) return 0;
  // What the tensor holds, bounded by its storage: an expanded view (stride 0) can have far
  // more elements than bytes, and V8 aborts on an implausible external-memory change.
  const double logical = static_cast<double>(t.numel()) * static_cast<double>(t.element_size());
  const double stored = static_cast<double>(t.storage().nbytes());
  return static_cast<int64_t>(std::min(logical, stored));
}

// Why a value names no live tensor of this environment.
enum class Miss : uint8_t { None, NotHandle, Stale, Foreign };

// The slot a handle names, or null when the value is not a handle of a live tensor of
// `st`'s environment (`miss` says why: no handle at all, disposed or reused, or a
// tensor of another Node environment).
Slot* slotOfHandle(EnvState& st, double d, Miss* miss, size_t* indexOut) {
  *miss = Miss::NotHandle;
  if (!(d >= 0) || d > 9.007199254740991e15 || std::trunc(d) != d) return nullptr;
  const double high = std::floor(d / kIndexSpan);
  const auto index = static_cast<size_t>(d - high * kIndexSpan);
  const auto h = static_cast<uint32_t>(high);  // < 2^31
  if ((h & (kTags - 1)) != st.tag) {
    *miss = Miss::Foreign;
    return nullptr;
  }
  if (index >= st.slots.size()) return nullptr;
  Slot& s = st.slots[index];
  if (!s.live || s.generation != (h >> kTagBits)) {
    *miss = Miss::Stale;
    return nullptr;
  }
  *miss = Miss::None;
  if (indexOut) *indexOut = index;
  return &s;
}

// The error for a value that names no live tensor (see Miss).
[[noreturn]] void throwMiss(Napi::Env env, Miss miss, const std::string& what) {
  if (miss == Miss::Stale) throw Napi::Error::New(env, what + ": tensor has been disposed");
  if (miss == Miss::Foreign) {
    throw Napi::Error::New(env, what + ": tensor belongs to another Node environment (a worker thread or the main "
                                       "thread); tensors cannot cross threads: send its data (toBuffer / fromBuffer)");
  }
  throw Napi::TypeError::New(env, what + ": expected a Tensor");
}

// One napi call: a value that is not a number is no handle.
bool readNumber(napi_env env, napi_value value, double* out) {
  return napi_get_value_double(env, value, out) == napi_ok;
}

Slot* slotOf(EnvState& st, const Napi::Value& value, Miss* miss, size_t* indexOut = nullptr) {
  *miss = Miss::NotHandle;
  double d;
  if (!readNumber(value.Env(), value, &d)) return nullptr;
  return slotOfHandle(st, d, miss, indexOut);
}

void release(EnvState& st, Slot& s, size_t index) {
  s.live = false;
  s.tensor.reset();
  if (s.reportedBytes) Napi::MemoryManagement::AdjustExternalMemory(st.env, -s.reportedBytes);
  s.reportedBytes = 0;
  st.free.push_back(static_cast<uint32_t>(index));
}

}  // namespace

void drainReleases(Napi::Env env) {
  EnvState& st = stateOf(env);
  ReleaseQueue& q = *st.queue;
  if (q.count == 0) return;
  // JavaScript writes the count: never trust it beyond the capacity
  const int32_t n = std::max(0, std::min(q.count, kQueueCapacity));
  q.count = 0;
  for (int32_t i = 0; i < n; ++i) {
    Miss miss;
    size_t index = 0;
    // a handle queued twice, or disposed directly meanwhile, is stale: nothing to do
    if (Slot* s = slotOfHandle(st, q.handles[i], &miss, &index)) release(st, *s, index);
  }
}

Napi::Value wrap(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return env.Null();
  EnvState& st = stateOf(env);
  size_t index;
  if (!st.free.empty()) {
    index = st.free.back();
    st.free.pop_back();
  } else {
    if (st.slots.size() >= static_cast<size_t>(kIndexSpan)) {
      throw Napi::Error::New(env, "tsvision: more than 4194304 live tensors (are tensors being disposed?)");
    }
    index = st.slots.append();
  }
  Slot& s = st.slots[index];
  s.generation = (s.generation + 1) & kGenerationMask;
  s.live = true;
  s.tensor = std::move(t);
  // Small tensors are not worth a V8 call; the report is a GC hint for big ones.
  const int64_t bytes = bytesOf(s.tensor);
  s.reportedBytes = bytes >= 4096 ? bytes : 0;
  if (s.reportedBytes) Napi::MemoryManagement::AdjustExternalMemory(env, s.reportedBytes);
  const double high = static_cast<double>((s.generation << kTagBits) | st.tag);
  return Napi::Number::New(env, high * kIndexSpan + static_cast<double>(index));
}

const at::Tensor& unwrap(Napi::Env env, const Napi::Value& value, const char* what) {
  Miss miss;
  Slot* s = slotOf(stateOf(env), value, &miss);
  if (!s) throwMiss(env, miss, what);
  return s->tensor;
}

namespace {
// unwrap() for a handle already read as a number.
const at::Tensor& unwrapHandle(Napi::Env env, double h, const char* what) {
  Miss miss;
  Slot* s = slotOfHandle(stateOf(env), h, &miss, nullptr);
  if (!s) throwMiss(env, miss, what);
  return s->tensor;
}
}  // namespace

namespace {
// `where: message`, unless the message already names `where` first (the ops' own checks do).
std::string located(const char* where, const std::string& message) {
  const std::string prefix = std::string(where) + ":";
  return message.compare(0, prefix.size(), prefix) == 0 ? message : std::string(where) + ": " + message;
}
}  // namespace

void rethrow(Napi::Env env, const char* where) {
  try {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(env, located(where, e.what_without_backtrace()));
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, located(where, e.what()));
  } catch (...) {
    throw Napi::Error::New(env, std::string(where) + ": unknown native error");
  }
}

// ---------------------------------------------------------------- scalar arguments

namespace {

// A value for an error message: numbers as JavaScript prints them, strings quoted, else the kind.
std::string describe(const Napi::Value& v) {
  switch (v.Type()) {
    case napi_number: return v.ToString().Utf8Value();
    case napi_string: {
      std::string text = v.As<Napi::String>().Utf8Value();
      if (text.size() > 40) text = text.substr(0, 40) + "...";
      return "'" + text + "'";
    }
    case napi_boolean: return v.As<Napi::Boolean>().Value() ? "true" : "false";
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_bigint: return "a bigint";
    case napi_symbol: return "a symbol";
    case napi_function: return "a function";
    default: return v.IsArray() ? "an array" : "an object";
  }
}

[[noreturn]] void badScalar(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name,
                            const std::string& expected, bool range) {
  const std::string msg = std::string(op) + ": " + name + " should be " + expected + ", got " + describe(info[i]);
  if (range) throw Napi::RangeError::New(info.Env(), msg);
  throw Napi::TypeError::New(info.Env(), msg);
}

}  // namespace

double numberArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (!info[i].IsNumber()) badScalar(info, i, op, name, "a number", false);
  return info[i].As<Napi::Number>().DoubleValue();
}

double notNanArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  const double d = numberArg(info, i, op, name);
  if (std::isnan(d)) badScalar(info, i, op, name, "a number (not NaN)", true);
  return d;
}

double positiveFiniteArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  const double d = numberArg(info, i, op, name);
  if (!(std::isfinite(d) && d > 0)) badScalar(info, i, op, name, "a finite number > 0", true);
  return d;
}

int64_t intArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name, int64_t lo, int64_t hi) {
  const std::string expected = "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  if (!info[i].IsNumber()) badScalar(info, i, op, name, expected, false);
  const double d = info[i].As<Napi::Number>().DoubleValue();
  // compared as doubles first: casting NaN, infinities or |d| >= 2^63 to int64 is undefined
  if (!std::isfinite(d) || std::trunc(d) != d) badScalar(info, i, op, name, expected, false);
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi)) badScalar(info, i, op, name, expected, true);
  return static_cast<int64_t>(d);
}

bool boolArg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (!info[i].IsBoolean()) badScalar(info, i, op, name, "a boolean", false);
  return info[i].As<Napi::Boolean>().Value();
}

namespace {

// ---------------------------------------------------------------- dispatcher calls

enum class Kind : uint8_t {
  Tensor, Int, Float, Bool, Scalar, String, Device, IntList, FloatList, BoolList,
  TensorList, OptTensorList, None, Unsupported
};

struct ArgSpec {
  Kind kind;
  bool optional;
  c10::optional<int32_t> n;  // fixed list length, e.g. int[2]: a single int broadcasts
  c10::optional<c10::IValue> defaultValue;
  std::string name;
};

// Unboxed fast paths: most calls are elementwise ops on tensors and scalars, for which
// the boxed path (IValue stack, boxing wrappers) costs more than the kernel. Operators
// whose schema is one of these shapes are called through typed handles instead.
// T = Tensor, S = Scalar; I* = in-place on the first argument.
enum class Fast : uint8_t { None, T, TT, TS, TTS, TSS, IT, ITT, ITS, ITTS, ITSS };

using Tref = const at::Tensor&;
using Sref = const at::Scalar&;

struct TypedHandles {
  c10::optional<c10::TypedOperatorHandle<at::Tensor(Tref)>> t;
  c10::optional<c10::TypedOperatorHandle<at::Tensor(Tref, Tref)>> tt;
  c10::optional<c10::TypedOperatorHandle<at::Tensor(Tref, Sref)>> ts;
  c10::optional<c10::TypedOperatorHandle<at::Tensor(Tref, Tref, Sref)>> tts;
  c10::optional<c10::TypedOperatorHandle<at::Tensor(Tref, Sref, Sref)>> tss;
  c10::optional<c10::TypedOperatorHandle<at::Tensor&(at::Tensor&)>> it;
  c10::optional<c10::TypedOperatorHandle<at::Tensor&(at::Tensor&, Tref)>> itt;
  c10::optional<c10::TypedOperatorHandle<at::Tensor&(at::Tensor&, Sref)>> its;
  c10::optional<c10::TypedOperatorHandle<at::Tensor&(at::Tensor&, Tref, Sref)>> itts;
  c10::optional<c10::TypedOperatorHandle<at::Tensor&(at::Tensor&, Sref, Sref)>> itss;
};

struct OpEntry {
  c10::OperatorHandle handle;
  std::string name;
  std::vector<ArgSpec> args;
  Fast fast = Fast::None;
  TypedHandles typed;
};


Kind kindOf(const c10::TypePtr& type) {
  using K = c10::TypeKind;
  switch (type->kind()) {
    case K::TensorType: return Kind::Tensor;
    case K::IntType: case K::SymIntType: case K::ScalarTypeType: case K::LayoutType:
    case K::MemoryFormatType: return Kind::Int;
    case K::FloatType: return Kind::Float;
    case K::BoolType: return Kind::Bool;
    case K::NumberType: return Kind::Scalar;
    case K::StringType: return Kind::String;
    case K::DeviceObjType: return Kind::Device;
    case K::GeneratorType: return Kind::None;
    case K::ListType: {
      const auto& el = type->castRaw<c10::ListType>()->getElementType();
      switch (el->kind()) {
        case K::IntType: case K::SymIntType: return Kind::IntList;
        case K::FloatType: return Kind::FloatList;
        case K::BoolType: return Kind::BoolList;
        case K::TensorType: return Kind::TensorList;
        case K::OptionalType: return Kind::OptTensorList;
        default: return Kind::Unsupported;
      }
    }
    default: return Kind::Unsupported;
  }
}

ArgSpec specOf(const c10::Argument& a) {
  ArgSpec s{Kind::Unsupported, false, a.N(), a.default_value(), a.name()};
  c10::TypePtr t = a.type();
  if (t->kind() == c10::TypeKind::OptionalType) {
    s.optional = true;
    t = t->castRaw<c10::OptionalType>()->getElementType();
  }
  s.kind = kindOf(t);
  return s;
}

void classifyFast(OpEntry& e) {
  const auto& schema = e.handle.schema();
  if (schema.returns().size() != 1 || schema.returns()[0].type()->kind() != c10::TypeKind::TensorType) return;
  if (schema.is_vararg() || schema.arguments().empty()) return;
  std::string sig;
  for (const auto& a : e.args) {
    if (a.optional) return;
    if (a.kind == Kind::Tensor) sig += 'T';
    else if (a.kind == Kind::Scalar) sig += 'S';
    else return;
  }
  if (sig[0] != 'T') return;
  const auto& first = schema.arguments()[0];
  const bool inplace = first.alias_info() && first.alias_info()->isWrite();
  if (inplace != (schema.returns()[0].alias_info() != nullptr)) return;
  // aliasing outputs of functional ops (views) are fine through the typed path too
  try {
    if (!inplace) {
      if (sig == "T") { e.typed.t = e.handle.typed<at::Tensor(Tref)>(); e.fast = Fast::T; }
      else if (sig == "TT") { e.typed.tt = e.handle.typed<at::Tensor(Tref, Tref)>(); e.fast = Fast::TT; }
      else if (sig == "TS") { e.typed.ts = e.handle.typed<at::Tensor(Tref, Sref)>(); e.fast = Fast::TS; }
      else if (sig == "TTS") { e.typed.tts = e.handle.typed<at::Tensor(Tref, Tref, Sref)>(); e.fast = Fast::TTS; }
      else if (sig == "TSS") { e.typed.tss = e.handle.typed<at::Tensor(Tref, Sref, Sref)>(); e.fast = Fast::TSS; }
    } else {
      if (sig == "T") { e.typed.it = e.handle.typed<at::Tensor&(at::Tensor&)>(); e.fast = Fast::IT; }
      else if (sig == "TT") { e.typed.itt = e.handle.typed<at::Tensor&(at::Tensor&, Tref)>(); e.fast = Fast::ITT; }
      else if (sig == "TS") { e.typed.its = e.handle.typed<at::Tensor&(at::Tensor&, Sref)>(); e.fast = Fast::ITS; }
      else if (sig == "TTS") { e.typed.itts = e.handle.typed<at::Tensor&(at::Tensor&, Tref, Sref)>(); e.fast = Fast::ITTS; }
      else if (sig == "TSS") { e.typed.itss = e.handle.typed<at::Tensor&(at::Tensor&, Sref, Sref)>(); e.fast = Fast::ITSS; }
    }
  } catch (...) {
    e.fast = Fast::None;  // signature check failed: keep the boxed path
  }
}

// findOp(name, overload) -> op id (throws if libtorch has no such operator)
Napi::Value FindOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>();
  std::string overload = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
  if (!handle) {
    throw Napi::Error::New(env, "libtorch has no operator " + name +
                                    (overload.empty() ? "" : "." + overload));
  }
  auto e = std::make_unique<OpEntry>(OpEntry{*handle, name + (overload.empty() ? "" : "." + overload), {}});
  for (const auto& a : handle->schema().arguments()) e->args.push_back(specOf(a));
  classifyFast(*e);
  auto& ops = stateOf(env).ops;
  ops.push_back(std::move(e));
  return Napi::Number::New(env, static_cast<double>(ops.size() - 1));
}

[[noreturn]] void badArg(Napi::Env env, const OpEntry& op, const ArgSpec& s, const char* expected) {
  throw Napi::TypeError::New(env, op.name + ": argument '" + s.name + "' expected " + expected);
}

int64_t toInt(Napi::Env env, const OpEntry& op, const ArgSpec& s, const Napi::Value& v) {
  if (!v.IsNumber()) badArg(env, op, s, "an integer");
  double d = v.As<Napi::Number>().DoubleValue();
  int64_t i = static_cast<int64_t>(d);
  if (static_cast<double>(i) != d) badArg(env, op, s, "an integer");
  return i;
}

c10::IValue toIValue(Napi::Env env, const OpEntry& op, const ArgSpec& s, const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) {
    if (s.optional || s.kind == Kind::None) return c10::IValue();
    if (v.IsUndefined() && s.defaultValue) return *s.defaultValue;
    badArg(env, op, s, s.kind == Kind::Tensor ? "a Tensor" : "a value (it has no default)");
  }
  switch (s.kind) {
    case Kind::Tensor:
      if (!v.IsNumber()) badArg(env, op, s, "a Tensor");
      return unwrap(env, v, op.name.c_str());
    case Kind::Int: return toInt(env, op, s, v);
    case Kind::Float:
      if (!v.IsNumber()) badArg(env, op, s, "a number");
      return v.As<Napi::Number>().DoubleValue();
    case Kind::Bool:
      if (!v.IsBoolean()) badArg(env, op, s, "a boolean");
      return v.As<Napi::Boolean>().Value();
    case Kind::Scalar: {
      if (v.IsBoolean()) return c10::Scalar(v.As<Napi::Boolean>().Value());
      if (!v.IsNumber()) badArg(env, op, s, "a number");
      double d = v.As<Napi::Number>().DoubleValue();
      // JavaScript has one number type: integral values act as Python ints do
      // (keeping integer tensors integral), others as Python floats.
      if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.007199254740992e15) {
        return c10::Scalar(static_cast<int64_t>(d));
      }
      return c10::Scalar(d);
    }
    case Kind::String:
      if (!v.IsString()) badArg(env, op, s, "a string");
      return v.As<Napi::String>().Utf8Value();
    case Kind::Device:
      if (!v.IsString()) badArg(env, op, s, "a device string such as 'cpu' or 'cuda:0'");
      return c10::Device(v.As<Napi::String>().Utf8Value());
    case Kind::IntList: {
      if (v.IsNumber() && s.n) {
        return c10::List<int64_t>(std::vector<int64_t>(*s.n, toInt(env, op, s, v)));
      }
      if (!v.IsArray()) badArg(env, op, s, "an array of integers");
      auto arr = v.As<Napi::Array>();
      c10::List<int64_t> out;
      out.reserve(arr.Length());
      for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(toInt(env, op, s, arr.Get(i)));
      return out;
    }
    case Kind::FloatList: {
      if (!v.IsArray()) badArg(env, op, s, "an array of numbers");
      auto arr = v.As<Napi::Array>();
      c10::List<double> out;
      for (uint32_t i = 0; i < arr.Length(); ++i) {
        Napi::Value e = arr.Get(i);
        if (!e.IsNumber()) badArg(env, op, s, "an array of numbers");
        out.push_back(e.As<Napi::Number>().DoubleValue());
      }
      return out;
    }
    case Kind::BoolList: {
      if (!v.IsArray()) badArg(env, op, s, "an array of booleans");
      auto arr = v.As<Napi::Array>();
      c10::List<bool> out;
      for (uint32_t i = 0; i < arr.Length(); ++i) {
        Napi::Value e = arr.Get(i);
        if (!e.IsBoolean()) badArg(env, op, s, "an array of booleans");
        out.push_back(e.As<Napi::Boolean>().Value());
      }
      return out;
    }
    case Kind::TensorList: {
      if (!v.IsArray()) badArg(env, op, s, "an array of tensors");
      auto arr = v.As<Napi::Array>();
      c10::List<at::Tensor> out;
      out.reserve(arr.Length());
      for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(unwrap(env, arr.Get(i), op.name.c_str()));
      return out;
    }
    case Kind::OptTensorList: {
      if (!v.IsArray()) badArg(env, op, s, "an array of tensors or nulls");
      auto arr = v.As<Napi::Array>();
      c10::List<c10::optional<at::Tensor>> out;
      for (uint32_t i = 0; i < arr.Length(); ++i) {
        Napi::Value e = arr.Get(i);
        if (e.IsNull()) out.push_back(c10::nullopt);
        else if (e.IsUndefined()) badArg(env, op, s, "an array of tensors or nulls");
        else out.push_back(unwrap(env, e, op.name.c_str()));
      }
      return out;
    }
    case Kind::None: return c10::IValue();
    case Kind::Unsupported: break;
  }
  badArg(env, op, s, "a value of a type the binding does not support");
}

Napi::Value fromIValue(Napi::Env env, const c10::IValue& v) {
  if (v.isTensor()) return wrap(env, v.toTensor());
  if (v.isNone()) return env.Null();
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isTensorList()) {
    auto list = v.toTensorVector();
    auto arr = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) arr.Set(static_cast<uint32_t>(i), wrap(env, list[i]));
    return arr;
  }
  if (v.isTuple()) {
    const auto& el = v.toTupleRef().elements();
    auto arr = Napi::Array::New(env, el.size());
    for (size_t i = 0; i < el.size(); ++i) arr.Set(static_cast<uint32_t>(i), fromIValue(env, el[i]));
    return arr;
  }
  if (v.isIntList()) {
    auto list = v.toIntVector();
    auto arr = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(list[i])));
    return arr;
  }
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  throw Napi::Error::New(env, "operator returned a value of type " + v.tagKind() + " that the binding does not convert");
}

// A JavaScript number or boolean as a Scalar (integral numbers act as Python ints); false if neither.
bool toScalar(const Napi::Value& v, at::Scalar* out) {
  double d;
  if (readNumber(v.Env(), v, &d)) {
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.007199254740992e15) *out = at::Scalar(static_cast<int64_t>(d));
    else *out = at::Scalar(d);
    return true;
  }
  if (v.IsBoolean()) {
    *out = at::Scalar(v.As<Napi::Boolean>().Value());
    return true;
  }
  return false;
}

// The unboxed call; returns false (nothing done) when an argument has the wrong type, so
// the boxed path reports the error.
bool callFast(const Napi::CallbackInfo& info, const OpEntry& op, bool wantResult, Napi::Value* result) {
  Napi::Env env = info.Env();
  constexpr size_t kMaxFastArgs = 3;  // classifyFast's signatures: T, TT, TS, TTS, TSS
  if (op.args.size() > kMaxFastArgs) return false;
  double handles[kMaxFastArgs];
  for (size_t i = 0; i < op.args.size(); ++i) {
    // a tensor argument that is no number: the boxed path names the argument
    if (op.args[i].kind == Kind::Tensor && !readNumber(env, info[i + 1], &handles[i])) return false;
  }
  auto T = [&](size_t i) -> const at::Tensor& { return unwrapHandle(env, handles[i], op.name.c_str()); };
  at::Scalar s1, s2;
  auto S = [&](size_t i, at::Scalar* out) { return toScalar(info[i + 1], out); };
  at::Tensor r;
  switch (op.fast) {
    case Fast::T: r = op.typed.t->call(T(0)); break;
    case Fast::TT: r = op.typed.tt->call(T(0), T(1)); break;
    case Fast::TS: if (!S(1, &s1)) return false; r = op.typed.ts->call(T(0), s1); break;
    case Fast::TTS: if (!S(2, &s1)) return false; r = op.typed.tts->call(T(0), T(1), s1); break;
    case Fast::TSS: if (!S(1, &s1) || !S(2, &s2)) return false; r = op.typed.tss->call(T(0), s1, s2); break;
    case Fast::IT: { at::Tensor self = T(0); op.typed.it->call(self); r = self; break; }
    case Fast::ITT: { at::Tensor self = T(0); op.typed.itt->call(self, T(1)); r = self; break; }
    case Fast::ITS: { if (!S(1, &s1)) return false; at::Tensor self = T(0); op.typed.its->call(self, s1); r = self; break; }
    case Fast::ITTS: { if (!S(2, &s1)) return false; at::Tensor self = T(0); op.typed.itts->call(self, T(1), s1); r = self; break; }
    case Fast::ITSS: { if (!S(1, &s1) || !S(2, &s2)) return false; at::Tensor self = T(0); op.typed.itss->call(self, s1, s2); r = self; break; }
    case Fast::None: return false;
  }
  *result = wantResult ? wrap(env, std::move(r)) : env.Undefined();
  return true;
}

Napi::Value callOp(const Napi::CallbackInfo& info, bool wantResult) {
  Napi::Env env = info.Env();
  const auto& ops = stateOf(env).ops;
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  if (id >= ops.size()) throw Napi::Error::New(env, "call: unknown op id");
  const OpEntry& op = *ops[id];
  size_t given = info.Length() - 1;
  if (given > op.args.size()) {
    throw Napi::TypeError::New(env, op.name + ": expected at most " + std::to_string(op.args.size()) +
                                        " arguments, got " + std::to_string(given));
  }
  TSV_TRY
  if (op.fast != Fast::None && given == op.args.size()) {
    Napi::Value result;
    if (callFast(info, op, wantResult, &result)) return result;
  }
  torch::jit::Stack stack;
  stack.reserve(op.args.size());
  Napi::Value undef = env.Undefined();
  for (size_t i = 0; i < op.args.size(); ++i) {
    stack.push_back(toIValue(env, op, op.args[i], i < given ? info[i + 1] : undef));
  }
  op.handle.callBoxed(&stack);
  if (!wantResult) return env.Undefined();
  if (stack.size() == 1) return fromIValue(env, stack[0]);
  auto arr = Napi::Array::New(env, stack.size());
  for (size_t i = 0; i < stack.size(); ++i) arr.Set(static_cast<uint32_t>(i), fromIValue(env, stack[i]));
  return arr;
  TSV_CATCH(op.name.c_str())
}

Napi::Value Call(const Napi::CallbackInfo& info) { return callOp(info, true); }
Napi::Value CallVoid(const Napi::CallbackInfo& info) { return callOp(info, false); }

Napi::Value OpSchema(const Napi::CallbackInfo& info) {
  const auto& ops = stateOf(info.Env()).ops;
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  if (id >= ops.size()) throw Napi::Error::New(info.Env(), "opSchema: unknown op id");
  std::ostringstream ss;
  ss << ops[id]->handle.schema();
  return Napi::String::New(info.Env(), ss.str());
}

// ---------------------------------------------------------------- tensor handles

// dispose(handle): frees the tensor now; disposing a stale handle does nothing.
Napi::Value Dispose(const Napi::CallbackInfo& info) {
  EnvState& st = stateOf(info.Env());
  Miss miss;
  size_t index = 0;
  Slot* s = slotOf(st, info[0], &miss, &index);
  if (s) {
    release(st, *s, index);
  } else if (miss != Miss::Stale) {
    throwMiss(info.Env(), miss, "dispose");
  }
  return info.Env().Undefined();
}

// flushReleases(): frees the queued tensors (the entry wrapper does the work).
Napi::Value FlushReleases(const Napi::CallbackInfo& info) { return info.Env().Undefined(); }

Napi::Value IsDisposed(const Napi::CallbackInfo& info) {
  Miss miss;
  Slot* s = slotOf(stateOf(info.Env()), info[0], &miss);
  if (!s && miss != Miss::Stale) throwMiss(info.Env(), miss, "isDisposed");
  return Napi::Boolean::New(info.Env(), s == nullptr);
}

// Live tensor handles of this environment (for leak checks in tests and diagnostics).
Napi::Value LiveTensors(const Napi::CallbackInfo& info) {
  const EnvState& st = stateOf(info.Env());
  return Napi::Number::New(info.Env(), static_cast<double>(st.slots.size() - st.free.size()));
}

Napi::Value IntArray(Napi::Env env, c10::IntArrayRef v) {
  auto arr = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(v[i])));
  return arr;
}

Napi::Value Sizes(const Napi::CallbackInfo& info) {
  return IntArray(info.Env(), unwrap(info.Env(), info[0], "shape").sizes());
}
Napi::Value Strides(const Napi::CallbackInfo& info) {
  return IntArray(info.Env(), unwrap(info.Env(), info[0], "stride").strides());
}
Napi::Value Dim(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(unwrap(info.Env(), info[0], "dim").dim()));
}
Napi::Value Numel(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(unwrap(info.Env(), info[0], "numel").numel()));
}
Napi::Value ScalarTypeOf(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<int>(unwrap(info.Env(), info[0], "dtype").scalar_type()));
}
Napi::Value DeviceOf(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), unwrap(info.Env(), info[0], "device").device().str());
}
Napi::Value StorageOffset(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(unwrap(info.Env(), info[0], "storageOffset").storage_offset()));
}
Napi::Value IsContiguous(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), unwrap(info.Env(), info[0], "isContiguous").is_contiguous());
}
Napi::Value SameTensor(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), unwrap(info.Env(), info[0], "same").is_same(unwrap(info.Env(), info[1], "same")));
}
Napi::Value SharesStorage(const Napi::CallbackInfo& info) {
  const auto& a = unwrap(info.Env(), info[0], "sharesStorage");
  const auto& b = unwrap(info.Env(), info[1], "sharesStorage");
  return Napi::Boolean::New(info.Env(), a.storage().is_alias_of(b.storage()));
}

// Live handles' views of the same tensor: a new handle to the same at::Tensor.
Napi::Value Alias(const Napi::CallbackInfo& info) {
  return wrap(info.Env(), unwrap(info.Env(), info[0], "alias"));
}

// fromBuffer(typedArrayOrBuffer, scalarType, shape[]) -> tensor (one copy)
Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TSV_TRY
  const uint8_t* data = nullptr;
  size_t byteLength = 0;
  if (info[0].IsTypedArray()) {
    auto ta = info[0].As<Napi::TypedArray>();
    auto ab = ta.ArrayBuffer();
    data = static_cast<const uint8_t*>(ab.Data()) + ta.ByteOffset();
    byteLength = ta.ByteLength();
  } else if (info[0].IsArrayBuffer()) {
    auto ab = info[0].As<Napi::ArrayBuffer>();
    data = static_cast<const uint8_t*>(ab.Data());
    byteLength = ab.ByteLength();
  } else if (info[0].IsDataView()) {
    auto dv = info[0].As<Napi::DataView>();
    data = static_cast<const uint8_t*>(dv.ArrayBuffer().Data()) + dv.ByteOffset();
    byteLength = dv.ByteLength();
  } else {
    throw Napi::TypeError::New(env, "fromBuffer: expected a TypedArray, ArrayBuffer or DataView");
  }
  auto st = static_cast<at::ScalarType>(info[1].As<Napi::Number>().Int32Value());
  auto shapeArr = info[2].As<Napi::Array>();
  std::vector<int64_t> shape(shapeArr.Length());
  int64_t numel = 1;
  for (uint32_t i = 0; i < shapeArr.Length(); ++i) {
    double d = shapeArr.Get(i).As<Napi::Number>().DoubleValue();
    if (d < 0 || std::trunc(d) != d) throw Napi::RangeError::New(env, "fromBuffer: shape must hold non-negative integers");
    shape[i] = static_cast<int64_t>(d);
    numel *= shape[i];
  }
  size_t need = static_cast<size_t>(numel) * c10::elementSize(st);
  if (need != byteLength) {
    throw Napi::RangeError::New(env, "fromBuffer: shape " + c10::str(c10::IntArrayRef(shape)) + " of " +
                                         c10::toString(st) + " needs " + std::to_string(need) +
                                         " bytes, the buffer has " + std::to_string(byteLength));
  }
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(st));
  if (need) std::memcpy(t.data_ptr(), data, need);
  return wrap(env, std::move(t));
  TSV_CATCH("fromBuffer")
}

// toBuffer(tensor) -> ArrayBuffer holding the tensor's elements (contiguous, on CPU)
Napi::Value ToBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TSV_TRY
  at::Tensor t = unwrap(env, info[0], "toBuffer");
  t = t.detach();
  if (!t.device().is_cpu()) t = t.to(at::kCPU);
  t = t.contiguous();
  size_t n = static_cast<size_t>(t.numel()) * t.element_size();
  auto ab = Napi::ArrayBuffer::New(env, n);
  if (n) std::memcpy(ab.Data(), t.data_ptr(), n);
  return ab;
  TSV_CATCH("toBuffer")
}

Napi::Value Item(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TSV_TRY
  const at::Tensor& t = unwrap(env, info[0], "item");
  if (t.numel() != 1) {
    throw Napi::Error::New(env, "item: a tensor with " + std::to_string(t.numel()) +
                                    " elements cannot be converted to a number");
  }
  at::Scalar s = t.item();
  if (s.isBoolean()) return Napi::Boolean::New(env, s.toBool());
  if (s.isIntegral(false)) return Napi::Number::New(env, static_cast<double>(s.toLong()));
  return Napi::Number::New(env, s.toDouble());
  TSV_CATCH("item")
}

// ---------------------------------------------------------------- autograd

Napi::Value RequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), unwrap(info.Env(), info[0], "requiresGrad").requires_grad());
}
Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  TSV_TRY
  unwrap(info.Env(), info[0], "requiresGrad_").set_requires_grad(info[1].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
  TSV_CATCH("requiresGrad_")
}
Napi::Value IsLeaf(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), unwrap(info.Env(), info[0], "isLeaf").is_leaf());
}
Napi::Value Grad(const Napi::CallbackInfo& info) {
  return wrap(info.Env(), unwrap(info.Env(), info[0], "grad").grad());
}
Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  TSV_TRY
  const at::Tensor& t = unwrap(info.Env(), info[0], "grad");
  if (info[1].IsNull() || info[1].IsUndefined()) t.mutable_grad().reset();
  else {
    const at::Tensor& g = unwrap(info.Env(), info[1], "grad");
    // as PyTorch's setter: a gradient of another shape, dtype or device would break accumulation
    TORCH_CHECK(g.sizes() == t.sizes(), "assigned grad has shape ", g.sizes(), ", the tensor has ", t.sizes());
    TORCH_CHECK(g.scalar_type() == t.scalar_type(), "assigned grad has dtype ", g.scalar_type(), ", the tensor has ", t.scalar_type());
    TORCH_CHECK(g.device() == t.device(), "assigned grad is on ", g.device(), ", the tensor on ", t.device());
    t.mutable_grad() = g;
  }
  return info.Env().Undefined();
  TSV_CATCH("setGrad")
}
// backward(tensor, gradient|null, retainGraph, createGraph)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TSV_TRY
  const at::Tensor& t = unwrap(env, info[0], "backward");
  at::Tensor g;
  if (!info[1].IsNull() && !info[1].IsUndefined()) g = unwrap(env, info[1], "backward gradient");
  c10::optional<bool> retain;
  if (info[2].IsBoolean()) retain = info[2].As<Napi::Boolean>().Value();
  bool create = info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
  t.backward(g, retain, create);
  return env.Undefined();
  TSV_CATCH("backward")
}
Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
}
Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  at::GradMode::set_enabled(info[0].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

// This environment's state: made on the first load in it, reused if the module is loaded
// again (its exports then share the tables and the queue).
EnvState& initState(Napi::Env env) {
  if (auto* existing = env.GetInstanceData<EnvState>()) return *existing;
  uint32_t tag = kTags;
  {
    std::lock_guard<std::mutex> lock(gTagMutex);
    // round robin, so a tag is reused as late as possible
    for (uint32_t k = 0; k < kTags; ++k) {
      const uint32_t t = (gNextTag + k) % kTags;
      if (!gTagUsed[t]) {
        tag = t;
        gTagUsed[t] = true;
        gNextTag = (t + 1) % kTags;
        break;
      }
    }
  }
  if (tag == kTags) {
    throw Napi::Error::New(env, "tsvision: more than " + std::to_string(kTags) +
                                    " Node environments (worker threads) use the addon at once");
  }
  auto st = std::make_unique<EnvState>();
  st->env = env;
  st->tag = tag;
  auto buffer = Napi::ArrayBuffer::New(env, sizeof(ReleaseQueue));
  st->queue = static_cast<ReleaseQueue*>(buffer.Data());
  st->queue->count = 0;
  st->queue->capacity = kQueueCapacity;
  st->queueRef = Napi::Persistent(buffer);
  EnvState* raw = st.release();
  env.SetInstanceData<EnvState>(raw);  // deleted with the environment
  return *raw;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  EnvState& st = initState(env);
  TSV_EXPORT("findOp", FindOp);
  TSV_EXPORT("call", Call);
  TSV_EXPORT("callVoid", CallVoid);
  TSV_EXPORT("opSchema", OpSchema);
  TSV_EXPORT("dispose", Dispose);
  TSV_EXPORT("flushReleases", FlushReleases);
  TSV_EXPORT("isDisposed", IsDisposed);
  TSV_EXPORT("liveTensors", LiveTensors);
  TSV_EXPORT("sizes", Sizes);
  TSV_EXPORT("strides", Strides);
  TSV_EXPORT("dim", Dim);
  TSV_EXPORT("numel", Numel);
  TSV_EXPORT("scalarType", ScalarTypeOf);
  TSV_EXPORT("device", DeviceOf);
  TSV_EXPORT("storageOffset", StorageOffset);
  TSV_EXPORT("isContiguous", IsContiguous);
  TSV_EXPORT("same", SameTensor);
  TSV_EXPORT("sharesStorage", SharesStorage);
  TSV_EXPORT("alias", Alias);
  TSV_EXPORT("fromBuffer", FromBuffer);
  TSV_EXPORT("toBuffer", ToBuffer);
  TSV_EXPORT("item", Item);
  TSV_EXPORT("requiresGrad", RequiresGrad);
  TSV_EXPORT("setRequiresGrad", SetRequiresGrad);
  TSV_EXPORT("isLeaf", IsLeaf);
  TSV_EXPORT("grad", Grad);
  TSV_EXPORT("setGrad", SetGrad);
  TSV_EXPORT("backward", Backward);
  TSV_EXPORT("isGradEnabled", IsGradEnabled);
  TSV_EXPORT("setGradEnabled", SetGradEnabled);
  exports.Set("releaseQueue", st.queueRef.Value());
  registerRuntime(env, exports);
  registerDetectionOps(env, exports);
  registerDistributed(env, exports);
  return exports;
}

}  // namespace tsv

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return tsv::Init(env, exports); }
NODE_API_MODULE(tsvision, InitModule)
