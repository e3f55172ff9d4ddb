// DistributedDataParallel's gradient averaging: libtorch's own c10d::Reducer, driven from
// JavaScript as torch/nn/parallel/distributed.py drives it.
//
// The Reducer registers a post hook on each parameter's gradient accumulator. Once every
// gradient of a bucket (about bucketBytes of parameters) has been computed, the bucket is
// launched: its gradients are copied into one flat tensor and allreduced asynchronously while
// backward goes on with the earlier layers. At the end of backward (an autograd engine callback)
// the Reducer waits for the outstanding allreduces and copies the averages into the gradients.
//
// The allreduce goes through a comm hook of ours (TimedAllreduceHook) that averages as DDP's
// default path does and records, for each iteration, when each bucket was launched and completed
// and when backward's computation ended: the figures behind DistributedDataParallel.commStats().
//
// A reducer is a type-tagged JavaScript external; close() destroys the Reducer at once (which
// removes its hooks from the parameters), the finalizer being only a safety net.
#include "common.h"

#ifdef TSV_WITH_C10D
#include "c10d_handles.h"

#include <torch/csrc/autograd/engine.h>
#include <torch/csrc/distributed/c10d/logger.hpp>  // (includes reducer.hpp; it has no include guard)

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace tsv {

namespace {

constexpr napi_type_tag kReducerTag = {0x3e9b5d7f1a2c4b44ULL, 0x6a8c1e3f5b7d9c93ULL};

using Clock = std::chrono::steady_clock;

// The communication of one iteration (prepareForBackward to the end of backward). Written by the
// comm hook (on the backward thread at launch, on a Gloo thread at completion) and by the
// end-of-backward callback; read from JavaScript after backward has returned.
struct IterationStats {
  struct Bucket {
    size_t index;           // the Reducer's bucket index (the order of reduction)
    double launchMs;        // since prepareForBackward
    double doneMs;          // since prepareForBackward; -1 while the allreduce runs
    int64_t gradsPending;   // parameters without a gradient yet when the bucket was launched
  };
  std::mutex mu;
  uint64_t generation = 0;  // bumped by each prepareForBackward: late completions of an older
                            // iteration (one that never finished) are not counted in this one
  Clock::time_point start;
  std::vector<Bucket> buckets;
  double backwardEndMs = -1;  // when backward's computation ended (all gradients computed)
  bool endCallbackQueued = false;

  double sinceStart(Clock::time_point t) const {
    return std::chrono::duration<double, std::milli>(t - start).count();
  }
};

// An allreduce of the bucket, averaged as DDP's default path averages (see runHook), that
// records the iteration's timeline in `stats`.
class TimedAllreduceHook : public c10d::CommHookInterface {
 public:
  TimedAllreduceHook(c10::intrusive_ptr<c10d::ProcessGroup> pg, std::vector<at::Tensor> params,
                     std::shared_ptr<IterationStats> stats)
      : pg_(std::move(pg)), params_(std::move(params)), stats_(std::move(stats)) {}

  c10::intrusive_ptr<c10::ivalue::Future> runHook(c10d::GradBucket& bucket) override {
    at::Tensor& buffer = bucket.getBufferRef();
    // Without a hook, the Reducer multiplies each gradient by 1 / worldSize while copying it
    // into the bucket and then allreduces the sum (with a hook it copies only). The same product,
    // in the same dtype, on the whole bucket: the averages are those of DDP's default.
    buffer.mul_(1.0 / pg_->getSize());
    int64_t pending = 0;
    for (const auto& p : params_) pending += p.grad().defined() ? 0 : 1;
    uint64_t generation;
    size_t slot;
    bool queueEnd = false;
    {
      std::lock_guard<std::mutex> lock(stats_->mu);
      generation = stats_->generation;
      slot = stats_->buckets.size();
      stats_->buckets.push_back({bucket.getIndex(), stats_->sinceStart(Clock::now()), -1, pending});
      queueEnd = !stats_->endCallbackQueued;
      stats_->endCallbackQueued = true;
    }
    if (queueEnd) {
      // The engine runs its final callbacks in order once every node has run; the Reducer queues
      // its own (wait for the buckets, copy the averages out) only after its last bucket is
      // launched, so this one, queued at the first launch, runs before it.
      auto stats = stats_;
      try {
        torch::autograd::Engine::get_default_engine().queue_callback([stats, generation] {
          std::lock_guard<std::mutex> lock(stats->mu);
          if (stats->generation == generation) stats->backwardEndMs = stats->sinceStart(Clock::now());
        });
      } catch (const c10::Error&) {
        // not inside a backward pass (cannot happen with the Reducer's hooks): no waitMs then
      }
    }
    std::vector<at::Tensor> tensors{buffer};
    auto future = pg_->allreduce(tensors)->getFuture();
    auto stats = stats_;
    // NCCL's futures complete when the allreduce is enqueued on its CUDA stream, not when it ends
    // there: no completion time is recorded then (doneMs stays -1, "not measured").
    if (buffer.is_cuda()) return future;
    // The Reducer waits on the returned future: it completes only after the completion time
    // is recorded, so the figures are whole once backward returns.
    return future->then(
        [stats, generation, slot](c10::ivalue::Future& done) {
          {
            std::lock_guard<std::mutex> lock(stats->mu);
            if (stats->generation == generation && slot < stats->buckets.size()) {
              stats->buckets[slot].doneMs = stats->sinceStart(Clock::now());
            }
          }
          return done.value();
        },
        future->elementType());
  }

  at::Tensor parseHookResult(const c10::IValue& result) override {
    // Gloo and NCCL complete an allreduce's future with the list of its tensors (here, the bucket).
    if (result.isTensor()) return result.toTensor();
    return result.toTensorVector().at(0);
  }

 private:
  c10::intrusive_ptr<c10d::ProcessGroup> pg_;
  std::vector<at::Tensor> params_;
  std::shared_ptr<IterationStats> stats_;
};

// ~Reducer and ~Logger are noexcept(false) (the first asserts that its hooks are still
// registered): deleters that never let that escape a finalizer or close().
template <typename T>
std::shared_ptr<T> guarded(T* raw) {
  return std::shared_ptr<T>(raw, [](T* p) {
    try {
      delete p;
    } catch (...) {
    }
  });
}

// A c10d::Reducer over `params`, whichever of the constructors this libtorch has: 1.13's (with
// the buckets' size limits) or 2.x's (without them, with skip_all_reduce_unused_params,
// use_python_reducer and bucket_bytes_cap_list). A template, so only the matching branch is compiled.
template <typename R = c10d::Reducer>
R* newReducer(std::vector<at::Tensor> params, std::vector<std::vector<size_t>> bucketIndices, std::vector<size_t> bucketLimits,
              c10::intrusive_ptr<c10d::ProcessGroup> pg, std::vector<bool> expectSparse, int64_t bucketBytes, bool findUnused,
              std::unordered_map<size_t, std::string> names, int64_t firstBucketBytes) {
  using Params = std::vector<at::Tensor>;
  using Indices = std::vector<std::vector<size_t>>;
  using PG = c10::intrusive_ptr<c10d::ProcessGroup>;
  using Names = std::unordered_map<size_t, std::string>;
  constexpr bool withLimits = std::is_constructible_v<R, Params, Indices, std::vector<size_t>, PG, std::vector<bool>, int64_t, bool,
                                                      bool, Names, int64_t>;
  constexpr bool withCapList = std::is_constructible_v<R, Params, Indices, PG, std::vector<bool>, int64_t, bool, bool, Names, int64_t,
                                                       bool, bool, std::vector<int64_t>>;
  static_assert(withLimits || withCapList, "tsvision: this libtorch's c10d::Reducer constructor is not one ddp.cpp knows (1.13's, 2.x's)");
  if constexpr (withLimits) {
    return new R(std::move(params), std::move(bucketIndices), std::move(bucketLimits), std::move(pg), std::move(expectSparse), bucketBytes,
                 findUnused, /*gradient_as_bucket_view=*/false, std::move(names), firstBucketBytes);
  } else {
    (void)bucketLimits;  // 2.x derives them from the caps
    return new R(std::move(params), std::move(bucketIndices), std::move(pg), std::move(expectSparse), bucketBytes, findUnused,
                 /*gradient_as_bucket_view=*/false, std::move(names), firstBucketBytes,
                 /*skip_all_reduce_unused_params=*/false, /*use_python_reducer=*/false, /*bucket_bytes_cap_list=*/std::vector<int64_t>{});
  }
}

struct ReducerBox {
  std::shared_ptr<c10d::Reducer> reducer;
  // DDP's logger of the reducer: the Reducer dereferences it without a check on some paths
  // (search_unused_parameters with findUnusedParameters), so it must exist. It holds the
  // Reducer too: released first.
  std::shared_ptr<c10d::Logger> logger;
  std::shared_ptr<IterationStats> stats;

  void destroy() {
    logger.reset();
    reducer.reset();
  }
};

ReducerBox& liveReducer(const Napi::CallbackInfo& info, const char* op) {
  auto& b = unbox<ReducerBox>(info, 0, kReducerTag, op, "reducer");
  if (!b.reducer) throw Napi::Error::New(info.Env(), std::string(op) + ": the reducer is closed");
  return b;
}

std::vector<std::string> stringList(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), std::string(op) + ": " + name + " should be an array of strings");
  auto arr = info[i].As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t k = 0; k < arr.Length(); k++) {
    Napi::Value v = arr.Get(k);
    if (!v.IsString()) throw Napi::TypeError::New(info.Env(), std::string(op) + ": " + name + "[" + std::to_string(k) + "] should be a string");
    out.push_back(v.As<Napi::String>().Utf8Value());
  }
  return out;
}

// reducerNew(pg, params, names, bucketBytes, firstBucketBytes, findUnusedParameters) -> reducer
//
// params: leaf tensors that require grad, each once; names: one per parameter (error messages).
// Checks with the other ranks that they hold the same parameters (count, shapes, dtypes: a
// collective, as DDP's constructor), then assigns buckets as DDP does: in parameter order, the
// first bucket capped at firstBucketBytes and the others at bucketBytes, and reversed, so that the
// last layers' buckets (whose gradients come first in backward) are reduced first.
Napi::Value ReducerNew(const Napi::CallbackInfo& info) {
  TSV_TRY
  const char* op = "reducerNew";
  auto& group = liveGroup(info, 0, op);
  c10::intrusive_ptr<c10d::ProcessGroup> pg = group.pg;
  auto params = tensorList(info, 1, op, "params", &group);
  auto names = stringList(info, 2, op, "names");
  int64_t bucketBytes = intArg(info, 3, op, "bucketBytes", 1, (int64_t{1} << 53) - 1);
  int64_t firstBucketBytes = intArg(info, 4, op, "firstBucketBytes", 1, (int64_t{1} << 53) - 1);
  bool findUnused = boolArg(info, 5, op, "findUnusedParameters");
  if (params.empty()) throw Napi::Error::New(info.Env(), std::string(op) + ": params is empty (no parameter requires grad)");
  if (names.size() != params.size()) throw Napi::Error::New(info.Env(), std::string(op) + ": names should hold one name per parameter");
  std::unordered_set<const c10::TensorImpl*> seen;
  std::unordered_map<size_t, std::string> nameMap;
  for (size_t i = 0; i < params.size(); i++) {
    const auto& p = params[i];
    std::string which = "parameter " + std::to_string(i) + " ('" + names[i] + "')";
    // (the Reducer would dereference the null gradient accumulator of such a tensor)
    if (!p.requires_grad() || !p.is_leaf()) throw Napi::Error::New(info.Env(), std::string(op) + ": " + which + " should be a leaf tensor that requires grad");
    if (!p.is_contiguous()) throw Napi::Error::New(info.Env(), std::string(op) + ": " + which + " should be contiguous");
    if (!seen.insert(p.unsafeGetTensorImpl()).second) throw Napi::Error::New(info.Env(), std::string(op) + ": " + which + " appears twice");
    nameMap[i] = names[i];
  }
  c10d::verify_params_across_processes(pg, params, {});
  std::vector<bool> expectSparse(params.size(), false);
  std::vector<std::vector<size_t>> bucketIndices;
  std::vector<size_t> bucketLimits;
  std::tie(bucketIndices, bucketLimits) = c10d::compute_bucket_assignment_by_size(
      params, {static_cast<size_t>(firstBucketBytes), static_cast<size_t>(bucketBytes)}, expectSparse);
  std::reverse(bucketIndices.begin(), bucketIndices.end());
  std::reverse(bucketLimits.begin(), bucketLimits.end());
  auto box_ = std::make_unique<ReducerBox>();
  box_->stats = std::make_shared<IterationStats>();
  box_->reducer = guarded(newReducer(params, std::move(bucketIndices), std::move(bucketLimits), pg, expectSparse, bucketBytes, findUnused,
                                     std::move(nameMap), firstBucketBytes));
  box_->logger = guarded(new c10d::Logger(box_->reducer));
  box_->reducer->set_logger(box_->logger);
  box_->reducer->register_comm_hook(std::make_unique<TimedAllreduceHook>(pg, params, box_->stats));
  return box(info.Env(), box_.release(), kReducerTag);
  TSV_CATCH("reducerNew")
}

// reducerPrepareForBackward(reducer, outputs): what DDP's forward does before returning
// (prepare_for_forward, rebuild the buckets in the order gradients came in the first iteration
// (a broadcast from rank 0), prepare_for_backward(outputs)), so that the next backward reduces
// the gradients. outputs matter only with findUnusedParameters: the parameters not reached from
// them are unused in this iteration. Throws the Reducer's error if the previous iteration's
// reduction did not finish (a parameter without a gradient, findUnusedParameters being false).
Napi::Value ReducerPrepareForBackward(const Napi::CallbackInfo& info) {
  TSV_TRY
  const char* op = "reducerPrepareForBackward";
  auto& b = liveReducer(info, op);
  auto outputs = tensorList(info, 1, op, "outputs");
  b.reducer->prepare_for_forward();
  b.reducer->rebuild_buckets();
  {
    std::lock_guard<std::mutex> lock(b.stats->mu);
    b.stats->generation++;
    b.stats->start = Clock::now();
    b.stats->buckets.clear();
    b.stats->backwardEndMs = -1;
    b.stats->endCallbackQueued = false;
  }
  b.reducer->prepare_for_backward(outputs);
  return info.Env().Undefined();
  TSV_CATCH("reducerPrepareForBackward")
}

// reducerStats(reducer) -> {backwardEndMs, buckets: [[index, launchMs, doneMs, gradsPending], ...]}
// (the last iteration's, in launch order; times in ms since prepareForBackward, -1: not yet)
Napi::Value ReducerStats(const Napi::CallbackInfo& info) {
  TSV_TRY
  auto& b = liveReducer(info, "reducerStats");
  Napi::Env env = info.Env();
  std::lock_guard<std::mutex> lock(b.stats->mu);
  auto list = Napi::Array::New(env, b.stats->buckets.size());
  for (size_t i = 0; i < b.stats->buckets.size(); i++) {
    const auto& k = b.stats->buckets[i];
    auto row = Napi::Array::New(env, 4);
    row.Set(0u, Napi::Number::New(env, static_cast<double>(k.index)));
    row.Set(1u, Napi::Number::New(env, k.launchMs));
    row.Set(2u, Napi::Number::New(env, k.doneMs));
    row.Set(3u, Napi::Number::New(env, static_cast<double>(k.gradsPending)));
    list.Set(static_cast<uint32_t>(i), row);
  }
  auto out = Napi::Object::New(env);
  out.Set("backwardEndMs", Napi::Number::New(env, b.stats->backwardEndMs));
  out.Set("buckets", list);
  return out;
  TSV_CATCH("reducerStats")
}

// reducerClose(reducer): destroys the Reducer (its hooks leave the parameters; allreduces under
// way finish on their own). Closing twice is a no-op.
Napi::Value ReducerClose(const Napi::CallbackInfo& info) {
  TSV_TRY
  unbox<ReducerBox>(info, 0, kReducerTag, "reducerClose", "reducer").destroy();
  return info.Env().Undefined();
  TSV_CATCH("reducerClose")
}

}  // namespace

void registerDdp(Napi::Env env, Napi::Object d) {
#define TSV_DIST(name, F) d.Set(name, Napi::Function::New(env, ::tsv::entry<F>, name))
  TSV_DIST("reducerNew", ReducerNew);
  TSV_DIST("reducerPrepareForBackward", ReducerPrepareForBackward);
  TSV_DIST("reducerStats", ReducerStats);
  TSV_DIST("reducerClose", ReducerClose);
#undef TSV_DIST
}

}  // namespace tsv

#endif  // TSV_WITH_C10D
