// A differentiable all-reduce (sum) over a c10d process group, the collective under
// SyncBatchNorm (src/nn/sync_batchnorm.ts): forward sums the input across the ranks, backward
// sums the incoming gradients across the ranks (the gradient of y = Σ_r x_r with respect to
// each rank's x_r is Σ_r' ∂L_r'/∂y when the loss is L = Σ_r' L_r'). As torch.distributed.nn's
// all_reduce. Every rank must run the same forwards and backwards in the same order, since
// backward runs a collective too.
//
// Both directions wait for their collective; a failure (a dead peer, the group's timeout)
// is thrown as an Error naming the direction: from the forward call, or from backward(), which
// the autograd engine rethrows to the caller of backward (binding.cpp: a JavaScript Error).
#include "distributed.h"

#ifdef TSV_WITH_C10D
#include <torch/autograd.h>

#include <string>
#include <vector>

namespace tsv {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Sums a copy of `t` across the group and waits for it; a failure becomes a std::runtime_error
// saying `where` (c10::Error's backtrace dropped).
at::Tensor allreduceSumCopy(c10d::ProcessGroup& pg, const at::Tensor& t, const char* where) {
  std::vector<at::Tensor> buf{t.contiguous().clone()};
  try {
    pg.allreduce(buf)->wait();
  } catch (...) {
    throw std::runtime_error(describeException(std::current_exception(), where));
  }
  return buf[0];
}

class AllreduceSumFunction : public torch::autograd::Function<AllreduceSumFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, c10::intrusive_ptr<c10d::ProcessGroup> pg) {
    at::Tensor out = allreduceSumCopy(*pg, input, "forward allreduce");
    // The capsule keeps the group alive until this node is freed with its graph.
    ctx->saved_data["pg"] = c10::IValue::make_capsule(std::move(pg));
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list gradOutputs) {
    auto pg = c10::static_intrusive_pointer_cast<c10d::ProcessGroup>(ctx->saved_data["pg"].toCapsule());
    at::Tensor grad = allreduceSumCopy(*pg, gradOutputs[0], "differentiableAllreduce (backward)");
    return {grad, at::Tensor()};
  }
};

// differentiableAllreduce(input, pg) -> a new tensor: the sum of `input` over the ranks, in the
// autograd graph when input requires grad.
Napi::Value DifferentiableAllreduce(const Napi::CallbackInfo& info) {
  TSV_TRY
  const char* op = "differentiableAllreduce";
  const at::Tensor& input = unwrap(info.Env(), info[0], "differentiableAllreduce input");
  auto& g = liveGroup(info, 1, op);
  checkGroupTensor(info.Env(), g, input, op, "input");
  return wrap(info.Env(), AllreduceSumFunction::apply(input, g.pg));
  TSV_CATCH("differentiableAllreduce")
}

}  // namespace

void registerSyncBatchNorm(Napi::Env env, Napi::Object distributed) {
  distributed.Set("differentiableAllreduce", Napi::Function::New(env, ::tsv::entry<DifferentiableAllreduce>, "differentiableAllreduce"));
}

}  // namespace tsv

#endif
