/**
 * Loads the libtorch binding (build/tsvision.node) and types its entry points.
 * Only src/torch talks to it (and src/distributed, to its `distributed` object: c10d stores,
 * process groups and collectives); everything else uses Tensor and the functional ops.
 */
import * as path from 'node:path';

/**
 * An opaque handle to a native at::Tensor: a slot number in the binding's tensor table of
 * this Node environment (main thread or Worker; a handle used in another one is an Error).
 */
export type NativeHandle = { readonly __nativeTensor: unique symbol };
/** What the dispatcher returns: a tensor, null, numbers/booleans, or arrays of them. */
export type NativeValue = NativeHandle | null | number | boolean | string | NativeValue[];

export interface NativeBinding {
  findOp(name: string, overload: string): number;
  call(op: number, ...args: unknown[]): NativeValue;
  callVoid(op: number, ...args: unknown[]): void;
  opSchema(op: number): string;
  /** Frees a tensor now (the safety net's path; Tensor.dispose() queues, see release.ts). */
  dispose(h: NativeHandle): void;
  /** The release queue shared with the binding (one per Node environment: each Worker has its own). */
  releaseQueue?: ArrayBuffer;
  /** Frees the queued tensors (every other entry point does so first, too). */
  flushReleases?(): void;
  isDisposed(h: NativeHandle): boolean;
  /** Number of live native tensors (for leak checks). */
  liveTensors(): number;
  sizes(h: NativeHandle): number[];
  strides(h: NativeHandle): number[];
  dim(h: NativeHandle): number;
  numel(h: NativeHandle): number;
  scalarType(h: NativeHandle): number;
  device(h: NativeHandle): string;
  storageOffset(h: NativeHandle): number;
  isContiguous(h: NativeHandle): boolean;
  same(a: NativeHandle, b: NativeHandle): boolean;
  sharesStorage(a: NativeHandle, b: NativeHandle): boolean;
  alias(h: NativeHandle): NativeHandle;
  fromBuffer(data: ArrayBufferView | ArrayBuffer, scalarType: number, shape: number[]): NativeHandle;
  toBuffer(h: NativeHandle): ArrayBuffer;
  item(h: NativeHandle): number | boolean;
  requiresGrad(h: NativeHandle): boolean;
  setRequiresGrad(h: NativeHandle, value: boolean): void;
  isLeaf(h: NativeHandle): boolean;
  grad(h: NativeHandle): NativeHandle | null;
  setGrad(h: NativeHandle, g: NativeHandle | null): void;
  backward(h: NativeHandle, gradient: NativeHandle | null, retainGraph: boolean | undefined, createGraph: boolean): void;
  isGradEnabled(): boolean;
  setGradEnabled(enabled: boolean): void;
  manualSeed(seed: number): void;
  getRngState(): NativeHandle;
  setRngState(state: NativeHandle): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  cudaSynchronize(): void;
  cudaMemoryStats(device: number): [number, number, number, number];
  cudaResetPeak(device: number): void;
  buildInfo(): { cuda: boolean; parallel: string };
  nms(boxes: NativeHandle, scores: NativeHandle, iouThreshold: number): NativeHandle;
  roiAlign(input: NativeHandle, rois: NativeHandle, spatialScale: number, pooledH: number, pooledW: number, samplingRatio: number, aligned: boolean): NativeHandle;
  roiPool(input: NativeHandle, rois: NativeHandle, spatialScale: number, pooledH: number, pooledW: number): NativeHandle;
  /** libtorch's c10d (native/src/distributed.cpp); absent when the addon was built without Gloo's headers. */
  distributed?: NativeDistributed;
}

/** An opaque c10d object held by the binding (a type-tagged external). */
export type NativeStore = { readonly __nativeStore: unique symbol };
export type NativeGroup = { readonly __nativeGroup: unique symbol };
export type NativeWork = { readonly __nativeWork: unique symbol };
export type NativeReducer = { readonly __nativeReducer: unique symbol };

/** c10d entry points (native/src/distributed.cpp). Times are milliseconds; 0 means no bound. */
export interface NativeDistributed {
  tcpStore(host: string, port: number, worldSize: number, isServer: boolean, timeoutMs: number, waitWorkers: boolean): NativeStore;
  fileStore(path: string, worldSize: number, timeoutMs: number): NativeStore;
  storeSet(store: NativeStore, key: string, value: string | Uint8Array): void;
  storeGet(store: NativeStore, key: string): Uint8Array;
  storeAdd(store: NativeStore, key: string, delta: number): number;
  /** Returns the previous timeout. */
  storeSetTimeout(store: NativeStore, timeoutMs: number): number;
  storeClose(store: NativeStore): void;
  processGroupGloo(store: NativeStore, rank: number, worldSize: number, timeoutMs: number,
    deviceKind: 'hostname' | 'interface' | 'default', deviceName: string, prefix: string, threads: number): NativeGroup;
  /** CUDA builds (TSV_WITH_NCCL); else throws saying so. */
  processGroupNccl(store: NativeStore, rank: number, worldSize: number, timeoutMs: number, prefix: string, highPriorityStream: boolean): NativeGroup;
  /** The backends this addon was built with. */
  backends: { gloo: boolean; nccl: boolean };
  processGroupClose(pg: NativeGroup): void;
  /** reduceOp: c10d::ReduceOp codes (SUM 0, AVG 1, PRODUCT 2, MIN 3, MAX 4, BAND 5, BOR 6, BXOR 7). */
  allreduce(pg: NativeGroup, tensors: NativeHandle[], reduceOp: number): NativeWork;
  /** sync_bn.cpp: a new tensor, the sum of input over the group, in the autograd graph (backward sums the gradients). Waits. */
  differentiableAllreduce(input: NativeHandle, pg: NativeGroup): NativeHandle;
  broadcast(pg: NativeGroup, tensors: NativeHandle[], root: number): NativeWork;
  allgather(pg: NativeGroup, outputs: NativeHandle[], input: NativeHandle): NativeWork;
  reduceScatter(pg: NativeGroup, output: NativeHandle, inputs: NativeHandle[], reduceOp: number): NativeWork;
  /** cudaDevice: an NCCL group's device for this rank (-1: c10d's guess); ignored by Gloo. */
  barrier(pg: NativeGroup, timeoutMs: number, cudaDevice: number): NativeWork;
  workWait(work: NativeWork, timeoutMs: number): boolean;
  workWaitAsync(work: NativeWork, timeoutMs: number): Promise<boolean>;
  workIsCompleted(work: NativeWork): boolean;
  workError(work: NativeWork): string | null;
  workRelease(work: NativeWork): void;
  /** c10d::Reducer (native/src/ddp.cpp): params are leaf tensors that require grad, names one per parameter. */
  reducerNew(pg: NativeGroup, params: NativeHandle[], names: string[], bucketBytes: number, firstBucketBytes: number,
    findUnusedParameters: boolean): NativeReducer;
  reducerPrepareForBackward(reducer: NativeReducer, outputs: NativeHandle[]): void;
  /**
   * The last iteration's buckets in launch order: [bucket index, launchMs, doneMs, gradsPending]; ms since prepareForBackward,
   * -1: not yet (or not measured: an NCCL allreduce's end on its CUDA stream is not timed).
   */
  reducerStats(reducer: NativeReducer): { backwardEndMs: number; buckets: [number, number, number, number][] };
  reducerClose(reducer: NativeReducer): void;
}

function load(): NativeBinding {
  const file = process.env.TSVISION_NATIVE ?? path.resolve(__dirname, '..', '..', '..', 'build', 'tsvision.node');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const binding = require(file) as NativeBinding;
    // A copy by spread has fast (shape-based) properties; the addon's exports object, built
    // one property at a time, is a dictionary, which makes every native.x lookup a slow one.
    return { ...binding };
  } catch (err) {
    throw new Error(`tsvision: cannot load the native addon ${file} (${(err as Error).message.split('\n')[0]}); ` +
      'run `bash scripts/setup.sh` or `npm run build:native`');
  }
}

export const native: NativeBinding = load();
