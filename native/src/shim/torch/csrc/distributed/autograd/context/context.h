// Stand-in for torch/csrc/distributed/autograd/context/context.h, which Debian's libtorch-dev
// (1.13) does not ship although c10d/reducer.hpp includes it. reducer.hpp needs only two
// names from it: ContextPtr (the type of a member of Reducer::RpcContext: a shared_ptr and an
// atomic raw pointer, whose layout does not depend on the pointee) and
// DistAutogradContext::GradCallback (checked by a static_assert). The binding never calls
// into distributed autograd. CMakeLists.txt puts this directory on ddp.cpp's include path only
// when the libtorch lacks the real header.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};
using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace autograd
}  // namespace distributed
}  // namespace torch
