/**
 * tsvision's tensor engine: libtorch through Node-API, with PyTorch's names.
 *   import * as torch from 'tsvision/torch';  torch.zeros([2, 3]), torch.F.conv2d(...), torch.ops.nms(...)
 */
export { Tensor, where, isTensor, type Device, type Scalar, type Shape, type ReduceOptions, type MemoryFormat } from './tensor';
export * from './creation';
export { type DType, DTYPE_SIZE, isFloatingPoint, type TypedArray } from './dtype';
export { tidy, tidyAsync, keep, unkeep, dispose, scopeDepth } from './scope';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from './autograd';
export { manualSeed, getRngState, setRngState, liveTensors, setNumThreads, getNumThreads, setFlushDenormal, getFlushDenormal, flushDenormalThreads, setCpuCache, cpuCacheStats, emptyCpuCache, mallocStats, cuda, buildInfo, type CudaMemoryStats, type MallocStats, type CpuCacheStats } from './runtime';
export * as F from './functional';
export * as ops from './vision_ops';
export * from './serialization';
