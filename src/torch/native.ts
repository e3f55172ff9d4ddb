/**
 * Loads the libtorch binding (build/tsvision.node) and types its entry points.
 * Only src/torch talks to it; everything else uses Tensor and the functional ops.
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
