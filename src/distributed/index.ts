/**
 * Distributed training on libtorch's c10d, the way torch.distributed does it: one process per
 * device, a rendezvous store, a Gloo (CPU) or NCCL (GPU, CUDA builds) process group and its
 * collectives.
 *
 *   const pg = initProcessGroup({ backend: 'gloo', initMethod: 'env://' });   // as torchrun sets it
 *   pg.allreduce(grad, { op: 'avg' }).wait();
 *   pg.close();
 */
import { DEFAULT_TIMEOUT_MS, Store, checkInt, describeValue } from './store';
import { ProcessGroup, type Backend } from './process_group';

export { Store, DEFAULT_TIMEOUT_MS, type TcpStoreOptions, type FileStoreOptions } from './store';
export { ProcessGroup, Work, isBackendAvailable, type Backend, type ReduceOp, type ProcessGroupOptions } from './process_group';
export {
  allreduceGradients, broadcastParameters, broadcastTensors, DistributedDataParallel, DEFAULT_BUCKET_BYTES, DEFAULT_FIRST_BUCKET_BYTES,
  type DistributedDataParallelOptions, type CommStats, type BucketTiming,
} from './ddp';
export { differentiableAllreduce } from './functional';

export interface InitProcessGroupOptions {
  /** 'gloo' (default; CPU tensors) or 'nccl' (CUDA tensors, one GPU per process; CUDA builds only). */
  backend?: Backend;
  /**
   * 'tcp://host:port' (rank 0 serves a TCPStore there), 'file:///path/to/file' (a FileStore),
   * or 'env://' (default): MASTER_ADDR and MASTER_PORT, and RANK / WORLD_SIZE unless given, as
   * torchrun sets them.
   */
  initMethod?: string;
  rank?: number;
  worldSize?: number;
  /** Timeout of the rendezvous and of every collective (default 30 minutes). */
  timeoutMs?: number;
  /** Gloo device (see ProcessGroupOptions.device); default: loopback when the master is a loopback address. */
  device?: { hostname: string } | { interface: string };
  /** NCCL: this rank's CUDA device (default LOCAL_RANK, else 0). */
  cudaDevice?: number;
}

/** A parsed init method. */
export type InitMethod =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'file'; path: string }
  | { kind: 'env' };

const FN = 'initProcessGroup';

/** Parses 'tcp://host:port', 'file://path' or 'env://'; throws an Error naming initMethod otherwise. */
export function parseInitMethod(initMethod: unknown): InitMethod {
  if (typeof initMethod !== 'string') throw new TypeError(`${FN}: initMethod should be a string ('tcp://host:port', 'file://path' or 'env://'), got ${describeValue(initMethod)}`);
  if (initMethod === 'env://') return { kind: 'env' };
  if (initMethod.startsWith('tcp://')) {
    const m = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})\/?$/.exec(initMethod);
    const port = m ? Number(m[2]) : NaN;
    if (!m || !(port >= 1 && port <= 65535)) {
      throw new TypeError(`${FN}: initMethod '${initMethod}' is malformed: expected tcp://host:port with a port in [1, 65535]`);
    }
    return { kind: 'tcp', host: m[1].replace(/^\[|\]$/g, ''), port };
  }
  if (initMethod.startsWith('file://')) {
    const path = decodeURIComponent(initMethod.slice('file://'.length));
    if (!path) throw new TypeError(`${FN}: initMethod '${initMethod}' is malformed: expected file:///path/to/file`);
    return { kind: 'file', path };
  }
  throw new TypeError(`${FN}: initMethod should be 'tcp://host:port', 'file://path' or 'env://', got '${initMethod}'`);
}

function envInt(name: string, lo: number, hi: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') throw new Error(`${FN}: initMethod 'env://' needs the environment variable ${name} (or the matching option)`);
  const v = Number(raw);
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${FN}: environment variable ${name} should be an integer in [${lo}, ${hi}], got '${raw}'`);
  return v;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

let defaultGroup: ProcessGroup | null = null;

/**
 * Joins the default process group: blocks until all worldSize processes have joined (or throws
 * after timeoutMs). Rank 0 of a tcp:// or env:// rendezvous serves the TCPStore.
 */
export function initProcessGroup(opts: InitProcessGroupOptions = {}): ProcessGroup {
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`${FN}: options should be an object`);
  const backend = opts.backend ?? 'gloo';
  if (backend !== 'gloo' && backend !== 'nccl') throw new TypeError(`${FN}: backend should be 'gloo' or 'nccl', got ${describeValue(backend)}`);
  if (defaultGroup && !defaultGroup.closed) throw new Error(`${FN}: the default process group is already initialized (destroyProcessGroup() first)`);
  const method = parseInitMethod(opts.initMethod ?? 'env://');
  const timeoutMs = checkInt(FN, 'timeoutMs', opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1, 2 ** 40);
  let { rank, worldSize } = opts;
  if (method.kind === 'env') {
    worldSize ??= envInt('WORLD_SIZE', 1, 1 << 20);
    rank ??= envInt('RANK', 0, (1 << 20) - 1);
  }
  if (worldSize === undefined) throw new TypeError(`${FN}: worldSize is required with initMethod '${opts.initMethod}'`);
  if (rank === undefined) throw new TypeError(`${FN}: rank is required with initMethod '${opts.initMethod}'`);
  checkInt(FN, 'worldSize', worldSize, 1, 1 << 20);
  if (typeof rank !== 'number' || !Number.isInteger(rank)) throw new TypeError(`${FN}: rank should be an integer in [0, worldSize - 1], got ${describeValue(rank)}`);
  if (rank < 0 || rank >= worldSize) throw new RangeError(`${FN}: rank should be in [0, worldSize - 1] = [0, ${worldSize - 1}], got ${rank}`);

  let store: Store;
  let device = opts.device;
  if (method.kind === 'file') {
    store = Store.file({ path: method.path, worldSize, timeoutMs });
  } else {
    let host: string;
    let port: number;
    if (method.kind === 'tcp') {
      ({ host, port } = method);
    } else {
      host = process.env.MASTER_ADDR ?? '';
      if (!host) throw new Error(`${FN}: initMethod 'env://' needs the environment variable MASTER_ADDR`);
      port = envInt('MASTER_PORT', 1, 65535);
    }
    if (backend === 'gloo' && device === undefined && !process.env.GLOO_SOCKET_IFNAME && isLoopback(host)) device = { hostname: host === 'localhost' ? '127.0.0.1' : host };
    store = Store.tcp({ host, port, worldSize, isServer: rank === 0, timeoutMs });
  }
  try {
    const backendOptions = backend === 'nccl' ? { cudaDevice: opts.cudaDevice } : { device };
    defaultGroup = new ProcessGroup({ store, rank, worldSize, timeoutMs, backend, ...backendOptions, ownsStore: true });
  } catch (err) {
    store.close();
    throw err;
  }
  return defaultGroup;
}

/** The default group of initProcessGroup(); throws if there is none. */
export function getProcessGroup(): ProcessGroup {
  if (!defaultGroup || defaultGroup.closed) throw new Error('distributed: no process group (call initProcessGroup() first)');
  return defaultGroup;
}

export function isInitialized(): boolean {
  return defaultGroup !== null && !defaultGroup.closed;
}

/** Closes the default group (and its store). */
export function destroyProcessGroup(): void {
  defaultGroup?.close();
  defaultGroup = null;
}

export { DistributedSampler, type DistributedSamplerOptions } from '../data/samplers';
