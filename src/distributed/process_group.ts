/**
 * A c10d process group, on Gloo (CPU tensors) or, in CUDA builds, NCCL (CUDA tensors, one GPU
 * per process), and its collectives. Collectives work in place
 * on the tensors given (as torch.distributed) and return a Work: call `wait()` (blocks this
 * thread) or `await waitAsync()` (the event loop keeps running) before reading the results. On
 * NCCL, wait() makes the current CUDA stream wait for the collective (as torch's) rather than the
 * host: later CUDA work, and reading the tensor back to the CPU, see the results.
 * Every process of the group must call the same collectives in the same order.
 */
import { Tensor } from '../torch/tensor';
import { cat } from '../torch/creation';
import { isFloatingPoint } from '../torch/dtype';
import { keep, tidy } from '../torch/scope';
import type { NativeGroup, NativeWork } from '../torch/native';
import { native } from '../torch/native';
import { c10d, checkInt, describeValue, DEFAULT_TIMEOUT_MS, Store } from './store';

/** Reduction of allreduce / reduceScatter. 'avg' is a sum divided by the world size (Gloo has no AVG). */
export type ReduceOp = 'sum' | 'avg' | 'product' | 'min' | 'max';
const REDUCE_CODES: Record<Exclude<ReduceOp, 'avg'>, number> = { sum: 0, product: 2, min: 3, max: 4 };

/** A collective under way. Its results are in place once wait() returns or waitAsync() resolves. */
export class Work {
  private handle: NativeWork | null;
  private done = false;

  /** @internal */
  constructor(handle: NativeWork, readonly op: string, private readonly after?: () => void, private readonly cleanup?: () => void) {
    this.handle = handle;
  }

  /**
   * Blocks until the collective completes; throws its error (a peer's failure, Gloo's timeout,
   * or 'Operation timed out!' after timeoutMs; 0, the default, bounds it by the group's timeout only).
   */
  wait(timeoutMs = 0): void {
    if (this.done) return;
    checkInt(`${this.op}.wait`, 'timeoutMs', timeoutMs, 0, 2 ** 40);
    this.settle(() => c10d().workWait(this.liveHandle(), timeoutMs));
  }

  /** Waits on a libuv pool thread; rejects with the collective's error. */
  async waitAsync(timeoutMs = 0): Promise<void> {
    if (this.done) return;
    checkInt(`${this.op}.waitAsync`, 'timeoutMs', timeoutMs, 0, 2 ** 40);
    const h = this.liveHandle();
    let failure: unknown;
    try {
      await c10d().workWaitAsync(h, timeoutMs);
    } catch (err) {
      failure = err;
    }
    this.settle(() => {
      if (failure !== undefined) throw failure;
    });
  }

  /** True once the collective finished, successfully or not (never blocks). */
  isCompleted(): boolean {
    return this.done || c10d().workIsCompleted(this.liveHandle());
  }

  /** The error of a finished, failed collective, else null. */
  get error(): string | null {
    return this.handle ? c10d().workError(this.handle) : null;
  }

  private liveHandle(): NativeWork {
    if (!this.handle) throw new Error(`${this.op}: the work was released`);
    return this.handle;
  }

  private settle(waitFn: () => void): void {
    try {
      waitFn();
    } catch (err) {
      this.cleanup?.();
      throw err;
    }
    this.done = true;
    try {
      this.after?.();
    } finally {
      this.cleanup?.();
      if (this.handle) c10d().workRelease(this.handle);
      this.handle = null;
    }
  }
}

/** 'gloo': CPU tensors (every build with Gloo's headers); 'nccl': CUDA tensors, one GPU per process (CUDA builds). */
export type Backend = 'gloo' | 'nccl';

/** Whether this build of the addon has `backend` (false too when it has no distributed binding at all). */
export function isBackendAvailable(backend: Backend): boolean {
  const d = native.distributed;
  return d !== undefined && d.backends[backend] === true;
}

export interface ProcessGroupOptions {
  store: Store;
  /** 'gloo' (default) or 'nccl' (CUDA builds). */
  backend?: Backend;
  rank: number;
  worldSize: number;
  /** Timeout of the rendezvous and of every collective (default 30 minutes). */
  timeoutMs?: number;
  /**
   * Gloo only. The Gloo device: `{hostname}` (an address of this machine to bind, e.g. '127.0.0.1'),
   * `{interface}` (a network interface name, e.g. 'eth0'), or default: GLOO_SOCKET_IFNAME if set,
   * else this machine's hostname (loopback if it does not resolve).
   */
  device?: { hostname: string } | { interface: string };
  /** Key prefix in the store, so several groups can share one store (default 'default_pg/'). */
  prefix?: string;
  /** Gloo only: worker threads (default 2). */
  threads?: number;
  /**
   * NCCL only: this rank's CUDA device index, used by barrier() (collectives use their tensors'
   * device). Default: LOCAL_RANK (as torchrun sets it), else 0.
   */
  cudaDevice?: number;
  /** NCCL only: run the collectives on high-priority CUDA streams (default false). */
  highPriorityStream?: boolean;
  /** Close the store too when the group is closed (default false). */
  ownsStore?: boolean;
}

function tensorCheck(fn: string, name: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) throw new TypeError(`${fn}: ${name} should be a Tensor, got ${describeValue(t)}`);
  if (!t.isContiguous()) throw new TypeError(`${fn}: ${name} should be contiguous (call .contiguous() first)`);
  return t;
}

function tensorList(fn: string, name: string, list: unknown): Tensor[] {
  if (!Array.isArray(list) || list.length === 0) throw new TypeError(`${fn}: ${name} should be a non-empty array of Tensors, got ${describeValue(list)}`);
  return list.map((t, i) => tensorCheck(fn, `${name}[${i}]`, t));
}

function sameShape(a: Tensor, b: Tensor): boolean {
  const x = a.shape;
  const y = b.shape;
  return a.dtype === b.dtype && x.length === y.length && x.every((d, i) => d === y[i]);
}

/** A process group: c10d::ProcessGroupGloo or c10d::ProcessGroupNCCL. */
export class ProcessGroup {
  readonly backend: Backend;
  /** NCCL: this rank's CUDA device (barrier's); -1 for Gloo. */
  readonly cudaDevice: number;
  readonly rank: number;
  readonly worldSize: number;
  readonly timeoutMs: number;
  readonly store: Store;
  private handle: NativeGroup | null;
  private readonly ownsStore: boolean;
  /** null: not tried yet; false: the native reduce_scatter is unsupported (libtorch 1.13's Gloo). */
  private nativeReduceScatter: boolean | null = null;

  /** Joins the group: blocks until all worldSize processes have joined, or throws after timeoutMs. */
  constructor(opts: ProcessGroupOptions) {
    const fn = 'ProcessGroup';
    if (!(opts?.store instanceof Store)) throw new TypeError(`${fn}: store should be a Store`);
    this.worldSize = checkInt(fn, 'worldSize', opts.worldSize, 1, 1 << 20);
    this.rank = checkInt(fn, 'rank', opts.rank, 0, this.worldSize - 1);
    this.timeoutMs = checkInt(fn, 'timeoutMs', opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1, 2 ** 40);
    const prefix = opts.prefix ?? 'default_pg/';
    if (typeof prefix !== 'string') throw new TypeError(`${fn}: prefix should be a string`);
    const backend = opts.backend ?? 'gloo';
    if (backend !== 'gloo' && backend !== 'nccl') throw new TypeError(`${fn}: backend should be 'gloo' or 'nccl', got ${describeValue(backend)}`);
    const d = c10d();
    if (!d.backends[backend]) {
      throw new Error(backend === 'nccl'
        ? `${fn}: backend 'nccl' is not in this build of the addon (only a build against a CUDA libtorch, e.g. a pip PyTorch's via LIBTORCH_DIR, has NCCL): use 'gloo'`
        : `${fn}: backend 'gloo' is not in this build of the addon (gloo/config.h was not found under libtorch's include directories; a pip PyTorch ships none): use 'nccl'`);
    }
    this.backend = backend;
    this.store = opts.store;
    this.ownsStore = opts.ownsStore ?? false;
    if (backend === 'nccl') {
      for (const k of ['device', 'threads'] as const) {
        if (opts[k] !== undefined) throw new TypeError(`${fn}: ${k} is a Gloo option; the 'nccl' backend takes cudaDevice and highPriorityStream`);
      }
      const localRank = process.env.LOCAL_RANK;
      const dflt = localRank !== undefined && /^\d+$/.test(localRank) ? Number(localRank) : 0;
      this.cudaDevice = checkInt(fn, 'cudaDevice', opts.cudaDevice ?? dflt, 0, 1 << 20);
      const high = opts.highPriorityStream ?? false;
      if (typeof high !== 'boolean') throw new TypeError(`${fn}: highPriorityStream should be a boolean, got ${describeValue(high)}`);
      this.handle = d.processGroupNccl(opts.store.native, this.rank, this.worldSize, this.timeoutMs, prefix, high);
      return;
    }
    for (const k of ['cudaDevice', 'highPriorityStream'] as const) {
      if (opts[k] !== undefined) throw new TypeError(`${fn}: ${k} is an NCCL option; the 'gloo' backend takes device and threads`);
    }
    this.cudaDevice = -1;
    const threads = checkInt(fn, 'threads', opts.threads ?? 2, 1, 64);
    let kind: 'hostname' | 'interface' | 'default' = 'default';
    let name = '';
    const dev = opts.device as { hostname?: unknown; interface?: unknown } | undefined;
    if (dev !== undefined) {
      if (typeof dev.hostname === 'string' && dev.hostname) [kind, name] = ['hostname', dev.hostname];
      else if (typeof dev.interface === 'string' && dev.interface) [kind, name] = ['interface', dev.interface];
      else throw new TypeError(`${fn}: device should be {hostname: string} or {interface: string}`);
    } else if (process.env.GLOO_SOCKET_IFNAME) {
      [kind, name] = ['interface', process.env.GLOO_SOCKET_IFNAME.split(',')[0]];
    }
    this.handle = d.processGroupGloo(opts.store.native, this.rank, this.worldSize, this.timeoutMs, kind, name, prefix, threads);
  }

  get closed(): boolean {
    return this.handle === null;
  }

  /** @internal The native group (for DistributedDataParallel's Reducer); throws if closed. */
  live(fn: string): NativeGroup {
    if (!this.handle) throw new Error(`${fn}: the process group is closed`);
    return this.handle;
  }

  private reduceCode(fn: string, op: unknown, tensors: Tensor[]): number {
    if (op === 'avg') {
      for (const t of tensors) {
        if (!isFloatingPoint(t.dtype)) throw new TypeError(`${fn}: op 'avg' needs floating-point tensors, got ${t.dtype}`);
      }
      return REDUCE_CODES.sum;
    }
    if (typeof op !== 'string' || !(op in REDUCE_CODES)) {
      throw new TypeError(`${fn}: op should be 'sum', 'avg', 'product', 'min' or 'max', got ${describeValue(op)}`);
    }
    return REDUCE_CODES[op as Exclude<ReduceOp, 'avg'>];
  }

  /** Reduces `tensor` across all ranks, in place on every rank. */
  allreduce(tensor: Tensor, opts: { op?: ReduceOp } = {}): Work {
    const fn = 'allreduce';
    tensorCheck(fn, 'tensor', tensor);
    const op = opts.op ?? 'sum';
    const code = this.reduceCode(fn, op, [tensor]);
    const h = c10d().allreduce(this.live(fn), [tensor._h], code);
    const after = op === 'avg' ? () => { tensor.div_(this.worldSize); } : undefined;
    return new Work(h, fn, after);
  }

  /** Copies `tensor` of rank `src` into `tensor` of every other rank. */
  broadcast(tensor: Tensor, opts: { src?: number } = {}): Work {
    const fn = 'broadcast';
    tensorCheck(fn, 'tensor', tensor);
    const src = checkInt(fn, 'src', opts.src ?? 0, 0, this.worldSize - 1);
    return new Work(c10d().broadcast(this.live(fn), [tensor._h], src), fn);
  }

  /** outputs[r] receives rank r's input; outputs has worldSize tensors shaped (and typed) as input. */
  allgather(outputs: Tensor[], input: Tensor): Work {
    const fn = 'allgather';
    tensorCheck(fn, 'input', input);
    const outs = tensorList(fn, 'outputs', outputs);
    if (outs.length !== this.worldSize) throw new RangeError(`${fn}: outputs should hold worldSize (${this.worldSize}) tensors, got ${outs.length}`);
    outs.forEach((t, i) => {
      if (!sameShape(t, input)) throw new TypeError(`${fn}: outputs[${i}] should have input's shape [${input.shape}] and dtype ${input.dtype}, got [${t.shape}] ${t.dtype}`);
    });
    return new Work(c10d().allgather(this.live(fn), outs.map((t) => t._h), input._h), fn);
  }

  /**
   * Reduces inputs[r] across ranks into rank r's output (inputs has worldSize tensors shaped as
   * output). libtorch 1.13's Gloo has no reduce_scatter: it is then done here as an allreduce of
   * all inputs (concatenated) of which each rank keeps its part, so it moves worldSize times the data.
   */
  reduceScatter(output: Tensor, inputs: Tensor[], opts: { op?: ReduceOp } = {}): Work {
    const fn = 'reduceScatter';
    tensorCheck(fn, 'output', output);
    const ins = tensorList(fn, 'inputs', inputs);
    if (ins.length !== this.worldSize) throw new RangeError(`${fn}: inputs should hold worldSize (${this.worldSize}) tensors, got ${ins.length}`);
    ins.forEach((t, i) => {
      if (!sameShape(t, output)) throw new TypeError(`${fn}: inputs[${i}] should have output's shape [${output.shape}] and dtype ${output.dtype}, got [${t.shape}] ${t.dtype}`);
    });
    const op = opts.op ?? 'sum';
    const code = this.reduceCode(fn, op, [output]);
    const avg = op === 'avg' ? () => { output.div_(this.worldSize); } : undefined;
    if (this.nativeReduceScatter !== false) {
      try {
        const h = c10d().reduceScatter(this.live(fn), output._h, ins.map((t) => t._h), code);
        this.nativeReduceScatter = true;
        return new Work(h, fn, avg);
      } catch (err) {
        if (!/does not support reduce_scatter/.test(String((err as Error).message))) throw err;
        this.nativeReduceScatter = false;
      }
    }
    // fallback: allreduce the concatenation, keep this rank's slice
    const flat = keep(tidy(() => cat(ins.map((t) => t.flatten()))));
    const n = output.numel();
    const h = c10d().allreduce(this.live(fn), [flat._h], code);
    const after = () => {
      tidy(() => { output.copy_(flat.narrow(0, this.rank * n, n).view(output.shape)); });
      avg?.();
    };
    return new Work(h, fn, after, () => flat.dispose());
  }

  /** Returns once every rank has entered the barrier (timeoutMs: 0 = the group's timeout). */
  barrier(opts: { timeoutMs?: number } = {}): Work {
    const fn = 'barrier';
    const t = checkInt(fn, 'timeoutMs', opts.timeoutMs ?? 0, 0, 2 ** 40);
    return new Work(c10d().barrier(this.live(fn), t, this.cudaDevice), fn);
  }

  /**
   * Leaves the group now: waits for queued collectives to start, stops Gloo's threads (NCCL: its
   * watchdog) and closes its connections (and the store if the group owns it). Idempotent; no reliance on GC.
   */
  close(): void {
    if (this.handle) {
      const h = this.handle;
      this.handle = null;
      c10d().processGroupClose(h);
    }
    if (this.ownsStore) this.store.close();
  }
}
