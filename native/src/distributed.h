// What distributed.cpp shares with the other c10d-based native files (sync_bn.cpp): the process
// group held by a JavaScript process-group handle, and c10 errors as messages. Only compiled
// with Gloo's headers (TSV_WITH_GLOO), as distributed.cpp.
#pragma once

#include "common.h"

#ifdef TSV_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>

#include <exception>
#include <string>

namespace tsv {

// The live process group of argument i (a JavaScript process-group handle); throws a TypeError
// for anything else and an Error for a closed group. The returned reference keeps the group
// alive (e.g. saved in an autograd node) even if JavaScript closes its handle meanwhile.
c10::intrusive_ptr<c10d::ProcessGroup> processGroupArg(const Napi::CallbackInfo& info, size_t i, const char* op);

// A caught error's message without its C++ backtrace, prefixed by `where`.
std::string describeException(const std::exception_ptr& ep, const std::string& where);

// sync_bn.cpp: adds its functions to the binding's `distributed` object.
void registerSyncBatchNorm(Napi::Env env, Napi::Object distributed);

}  // namespace tsv
#endif
