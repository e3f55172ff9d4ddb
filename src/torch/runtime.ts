/** Seeding, threads and CUDA queries. */
import * as os from 'node:os';
import { native } from './native';
import { wrap, type Tensor } from './tensor';
import { argError, boolArg, tensorArg } from './args';

/**
 * Seeds libtorch's generators (CPU and CUDA): an integer in [0, 2^53 - 1]. PyTorch takes any
 * 64-bit integer, but above Number.MAX_SAFE_INTEGER a number is no longer an exact integer
 * (2 ** 53 + 1 would seed 2 ** 53), and a negative seed only aliases a large one.
 */
export function manualSeed(seed: number): void {
  if (typeof seed !== 'number' || !Number.isInteger(seed)) {
    throw new TypeError(`manualSeed: seed should be an integer in [0, ${Number.MAX_SAFE_INTEGER}], got ${String(seed)}`);
  }
  if (seed < 0 || seed > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`manualSeed: seed should be an integer in [0, ${Number.MAX_SAFE_INTEGER}], got ${seed}`);
  }
  native.manualSeed(seed);
}

/** The default CPU generator's state (uint8 tensor), e.g. to store in a checkpoint. */
export function getRngState(): Tensor {
  return wrap(native.getRngState());
}

/** Restores a state from getRngState(). */
export function setRngState(state: Tensor): void {
  native.setRngState(tensorArg('setRngState', 'state', state));
}

/** The binding's flush-denormal entry points (native/src/runtime.cpp). */
const fd = native as typeof native & {
  setFlushDenormal(on: boolean): boolean;
  flushDenormalThreads(): boolean[];
  setCpuCache(on: boolean, limitBytes: number): void;
  cpuCacheStats(): [number, number, number, number, number, boolean];
  cpuCacheEmpty(): void;
  mallocStats(): [number, number, number] | null;
  mallocStats(): [number, number, number] | null;
};

/**
 * Intra-op threads libtorch uses. Workers the pool gains get the flush-denormal state
 * (setFlushDenormal) too.
 */
export function setNumThreads(n: number): void {
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw new TypeError(`setNumThreads: n should be an integer in [1, ${maxThreads}], got ${String(n)}`);
  }
  if (n < 1 || n > maxThreads) throw new RangeError(`setNumThreads: n should be an integer in [1, ${maxThreads}], got ${n}`);
  native.setNumThreads(n);
}
/** As the binding's bound (native/src/runtime.cpp): more threads is a mistake, not a machine. */
const maxThreads = 1024;

export function getNumThreads(): number {
  return native.getNumThreads();
}

/** Default: one intra-op thread per core (TSVISION_NUM_THREADS overrides). */
function initThreads(): void {
  const env = process.env.TSVISION_NUM_THREADS;
  if (env) {
    const n = Number(env);
    if (!(Number.isInteger(n) && n >= 1 && n <= maxThreads)) {
      throw new RangeError(`TSVISION_NUM_THREADS should be an integer in [1, ${maxThreads}], got '${env}'`);
    }
    native.setNumThreads(n);
    return;
  }
  native.setNumThreads(Math.min(Math.max(1, os.availableParallelism?.() ?? os.cpus().length), maxThreads));
}
initThreads();

/**
 * Flush-denormal: CPU kernels treat subnormal floats (|x| < 1.18e-38 in float32,
 * 2.23e-308 in float64) as zero, in their inputs (DAZ) and results (FTZ), as
 * `torch.set_flush_denormal(True)`. Subnormals cost x86 CPUs ~100 cycles an operation: in CPU
 * training, gradients fill with them after a few SGD steps and the backward pass slows 4-5x.
 *
 * Unlike torch.set_flush_denormal, which sets only the calling thread's control register,
 * this sets it on every libtorch intra-op thread (and again on those setNumThreads adds),
 * and on the JavaScript thread only while native code runs: JavaScript's own arithmetic
 * keeps IEEE subnormals (`Number.MIN_VALUE > 0` stays true). Values read back from
 * tensors are not changed; values computed or converted by kernels are (with it on,
 * `torch.tensor([1e-40]).item()` is 0, as in PyTorch).
 *
 * ON by default (at load) for CPU training and inference; TSVISION_FLUSH_DENORMAL=0 (or
 * false / off) leaves libtorch's default (IEEE subnormals). Returns whether the CPU
 * supports it, as PyTorch does (x86 with DAZ; libtorch 1.13 reports false on other CPUs);
 * where it does not, results keep their subnormals.
 */
export function setFlushDenormal(on: boolean): boolean {
  return fd.setFlushDenormal(boolArg('setFlushDenormal', 'on', on));
}

/** Whether subnormals are flushed on every intra-op thread (see setFlushDenormal). */
export function getFlushDenormal(): boolean {
  return fd.flushDenormalThreads().every((s) => s);
}

/** The flush-denormal state of each intra-op thread (the calling thread among them), e.g. for tests. */
export function flushDenormalThreads(): boolean[] {
  return fd.flushDenormalThreads();
}

function initFlushDenormal(): void {
  const env = (process.env.TSVISION_FLUSH_DENORMAL ?? '').trim().toLowerCase();
  if (env === '0' || env === 'false' || env === 'off') return;
  fd.setFlushDenormal(true);
}
initFlushDenormal();

/**
 * The CPU block cache (native/src/runtime.cpp): CPU tensors of 1 MiB and more take their memory
 * from a cache of blocks freed earlier, by size, instead of from malloc, which maps every block
 * above 32 MB afresh and unmaps it on free, so that each large activation costs page faults when
 * first written (FCN R-50-D8 at 512x1024 beside mmseg: sys 18.9 s of a 59.1 s run; bench/README). PyTorch
 * does the same for CUDA memory. Freed blocks stay resident up to `limitBytes` of cached memory;
 * a block freed past it goes back to the system.
 *
 * ON by default (at load) with a limit of a quarter of physical memory; TSVISION_CPU_CACHE=0 (or
 * false / off) leaves libtorch's allocator, TSVISION_CPU_CACHE_MB=N sets the limit.
 */
export function setCpuCache(on: boolean, limitBytes = defaultCpuCacheLimit()): void {
  boolArg('setCpuCache', 'on', on);
  if (typeof limitBytes !== 'number' || !(limitBytes >= 0)) argError('setCpuCache', 'limitBytes', 'a number >= 0', limitBytes);
  fd.setCpuCache(on, limitBytes);
}

/** What the CPU block cache holds (bytes) and how often it served a request. */
export interface CpuCacheStats {
  /** Whether new CPU tensors use the cache. */
  enabled: boolean;
  /** Large blocks in use by tensors. */
  liveBytes: number;
  /** Freed blocks kept for reuse. */
  cachedBytes: number;
  limitBytes: number;
  hits: number;
  misses: number;
}

export function cpuCacheStats(): CpuCacheStats {
  const [liveBytes, cachedBytes, limitBytes, hits, misses, enabled] = fd.cpuCacheStats();
  return { enabled, liveBytes, cachedBytes, limitBytes, hits, misses };
}

/** Returns every cached (free) block to the system, as torch.cuda.empty_cache does on the GPU. */
export function emptyCpuCache(): void {
  fd.cpuCacheEmpty();
}

/** glibc's malloc figures (mallinfo2), in bytes; null off glibc. */
export interface MallocStats {
  /** The heaps' size (sbrk and arena heaps). */
  heap: number;
  /** Held in chunks mmapped one by one. */
  mmapped: number;
  /** Free bytes kept in the heaps. */
  free: number;
}

export function mallocStats(): MallocStats | null {
  const s = fd.mallocStats();
  return s === null ? null : { heap: s[0], mmapped: s[1], free: s[2] };
}

function defaultCpuCacheLimit(): number {
  const mb = process.env.TSVISION_CPU_CACHE_MB;
  if (mb !== undefined && mb.trim() !== '') {
    const n = Number(mb);
    if (!(Number.isFinite(n) && n >= 0)) throw new RangeError(`TSVISION_CPU_CACHE_MB should be a number of MiB >= 0, got '${mb}'`);
    return n * 2 ** 20;
  }
  return Math.floor(os.totalmem() / 4);
}

function initCpuCache(): void {
  const env = (process.env.TSVISION_CPU_CACHE ?? '').trim().toLowerCase();
  if (env === '0' || env === 'false' || env === 'off') return;
  fd.setCpuCache(true, defaultCpuCacheLimit());
}
initCpuCache();

export interface CudaMemoryStats {
  /** Bytes held by live tensors. */
  allocated: number;
  /** Peak of `allocated` since start or the last resetPeakMemoryStats. */
  maxAllocated: number;
  reserved: number;
  maxReserved: number;
}

/** A CUDA device index argument of cuda.<fn>. */
function deviceIndex(fn: string, device: unknown): number {
  if (typeof device !== 'number' || !Number.isSafeInteger(device) || device < 0) argError(`cuda.${fn}`, 'device', 'a non-negative integer', device);
  return device as number;
}

export const cuda = {
  isAvailable(): boolean {
    return native.cudaIsAvailable();
  },
  deviceCount(): number {
    return native.cudaDeviceCount();
  },
  synchronize(): void {
    native.cudaSynchronize();
  },
  memoryStats(device = 0): CudaMemoryStats {
    const [allocated, maxAllocated, reserved, maxReserved] = native.cudaMemoryStats(deviceIndex('memoryStats', device));
    return { allocated, maxAllocated, reserved, maxReserved };
  },
  memoryAllocated(device = 0): number {
    return native.cudaMemoryStats(deviceIndex('memoryAllocated', device))[0];
  },
  maxMemoryAllocated(device = 0): number {
    return native.cudaMemoryStats(deviceIndex('maxMemoryAllocated', device))[1];
  },
  resetPeakMemoryStats(device = 0): void {
    native.cudaResetPeak(deviceIndex('resetPeakMemoryStats', device));
  },
};

/** How the native addon was built (CUDA or not) and libtorch's parallel settings. */
export function buildInfo(): { cuda: boolean; parallel: string } {
  return native.buildInfo();
}

/** Native tensors currently alive (not disposed), e.g. to check code for leaks. */
export function liveTensors(): number {
  return native.liveTensors();
}
