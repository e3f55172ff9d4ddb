/** Seeding, threads and CUDA queries. */
import * as os from 'node:os';
import { native } from './native';
import { wrap, type Tensor } from './tensor';

/** Seeds libtorch's generators (CPU and CUDA). */
export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}

/** The default CPU generator's state (uint8 tensor), e.g. to store in a checkpoint. */
export function getRngState(): Tensor {
  return wrap(native.getRngState());
}

/** Restores a state from getRngState(). */
export function setRngState(state: Tensor): void {
  native.setRngState(state._h);
}

/** Intra-op threads libtorch uses. */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}

/** Default: one intra-op thread per core (TSVISION_NUM_THREADS overrides). */
function initThreads(): void {
  const env = process.env.TSVISION_NUM_THREADS;
  const n = env ? Number(env) : (os.availableParallelism?.() ?? os.cpus().length);
  if (Number.isInteger(n) && n > 0) native.setNumThreads(n);
}
initThreads();

export interface CudaMemoryStats {
  /** Bytes held by live tensors. */
  allocated: number;
  /** Peak of `allocated` since start or the last resetPeakMemoryStats. */
  maxAllocated: number;
  reserved: number;
  maxReserved: number;
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
    const [allocated, maxAllocated, reserved, maxReserved] = native.cudaMemoryStats(device);
    return { allocated, maxAllocated, reserved, maxReserved };
  },
  memoryAllocated(device = 0): number {
    return native.cudaMemoryStats(device)[0];
  },
  maxMemoryAllocated(device = 0): number {
    return native.cudaMemoryStats(device)[1];
  },
  resetPeakMemoryStats(device = 0): void {
    native.cudaResetPeak(device);
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
