// What the c10d-based native files beside distributed.cpp (ddp.cpp, sync_bn.cpp) share with it:
// the handles (c10d_handles.h: the process group held by a JavaScript handle, argument readers,
// c10 errors as messages) and their registration functions. Only a build with a c10d backend has
// them (TSV_WITH_C10D: Gloo's headers and/or a CUDA libtorch's NCCL).
#pragma once

#include "common.h"

#ifdef TSV_WITH_C10D
#include "c10d_handles.h"

namespace tsv {

// sync_bn.cpp: adds its functions to the binding's `distributed` object.
void registerSyncBatchNorm(Napi::Env env, Napi::Object distributed);

}  // namespace tsv
#endif
