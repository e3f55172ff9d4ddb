/**
 * Data-parallel training's collectives, as torch's DistributedDataParallel performs them: every
 * parameter and buffer taken from one rank at the start (DDP's _sync_module_states), and gradients
 * averaged across ranks in buckets of about 25 MB (DDP's bucket_cap_mb).
 *
 * - `DistributedDataParallel` drives libtorch's own c10d::Reducer (native/src/ddp.cpp): each
 *   bucket's allreduce starts as soon as backward has computed its gradients, so communication
 *   overlaps the rest of backward, and backward returns with the averaged gradients.
 * - `allreduceGradients` is the plain form: every bucket is copied into one flat tensor,
 *   allreduced, divided by the world size and copied back, all after backward (no overlap).
 */
import * as torch from '../torch';
import { Tensor } from '../torch/tensor';
import { DTYPE_SIZE } from '../torch/dtype';
import type { NativeReducer } from '../torch/native';
import type { Module } from '../nn';
import { ProcessGroup } from './process_group';
import { c10d, describeValue } from './store';

/** DDP's default bucket size (bucket_cap_mb = 25). */
export const DEFAULT_BUCKET_BYTES = 25 * 2 ** 20;
/** DDP's cap on the bucket of the first-defined parameters, reduced last (dist._DEFAULT_FIRST_BUCKET_BYTES). */
export const DEFAULT_FIRST_BUCKET_BYTES = 2 ** 20;

/** Consecutive tensors of one dtype, up to `bucketBytes` each (a larger tensor is a bucket of its own). */
function buckets(tensors: Tensor[], bucketBytes: number): Tensor[][] {
  const out: Tensor[][] = [];
  let cur: Tensor[] = [];
  let bytes = 0;
  for (const t of tensors) {
    const size = t.numel() * DTYPE_SIZE[t.dtype];
    if (cur.length > 0 && (bytes + size > bucketBytes || cur[0].dtype !== t.dtype)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(t);
    bytes += size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/**
 * Runs `reduce` on each bucket's flattened copy and writes the result back into the tensors, in
 * place. The flat copies are freed as each bucket completes.
 */
function throughFlatBuckets(tensors: Tensor[], bucketBytes: number, reduce: (flat: Tensor) => void): void {
  torch.noGrad(() => {
    for (const bucket of buckets(tensors, bucketBytes)) {
      torch.tidy(() => {
        const flat = torch.cat(bucket.map((t) => t.reshape([-1])));
        reduce(flat);
        let offset = 0;
        for (const t of bucket) {
          const n = t.numel();
          t.copy_(flat.narrow(0, offset, n).view(t.shape));
          offset += n;
        }
      });
    }
  });
}

function checkBucketBytes(fn: string, bucketBytes: number): void {
  if (!(Number.isFinite(bucketBytes) && bucketBytes > 0)) throw new RangeError(`${fn}: bucketBytes must be a positive number, got ${bucketBytes}`);
}

/**
 * Every parameter and buffer of `module` takes rank `src`'s values (all ranks must call it with
 * the same module structure; the order is the modules' registration order).
 */
export function broadcastParameters(module: Module, pg: ProcessGroup, opts: { src?: number; bucketBytes?: number } = {}): void {
  broadcastTensors([...module.parameters(), ...module.buffers()], pg, opts);
}

/**
 * Every tensor of `tensors` takes rank `src`'s values, in place (all ranks must pass tensors of the
 * same shapes and dtypes in the same order; e.g. a model's state dict, whose tensors are its own).
 */
export function broadcastTensors(tensors: Tensor[], pg: ProcessGroup, opts: { src?: number; bucketBytes?: number } = {}): void {
  const bucketBytes = opts.bucketBytes ?? DEFAULT_BUCKET_BYTES;
  checkBucketBytes('broadcastTensors', bucketBytes);
  throughFlatBuckets(tensors, bucketBytes, (flat) => pg.broadcast(flat, { src: opts.src ?? 0 }).wait());
}

/**
 * Averages the gradients of `params` across the ranks of `pg`, in place. A parameter that has no
 * gradient on this rank (unused in its forward: DDP's find_unused_parameters) contributes zeros,
 * and gets the average as its gradient, so every rank ends with the same gradients.
 */
export function allreduceGradients(params: Iterable<Tensor>, pg: ProcessGroup, opts: { bucketBytes?: number } = {}): void {
  const bucketBytes = opts.bucketBytes ?? DEFAULT_BUCKET_BYTES;
  checkBucketBytes('allreduceGradients', bucketBytes);
  const grads: Tensor[] = [];
  for (const p of params) {
    if (!p.requiresGrad) continue;
    if (p.grad === null) p.grad = torch.noGrad(() => torch.zerosLike(p));
    grads.push(p.grad!);
  }
  const n = pg.worldSize;
  throughFlatBuckets(grads, bucketBytes, (flat) => {
    pg.allreduce(flat).wait();
    if (n > 1) flat.div_(n);
  });
}

export interface DistributedDataParallelOptions {
  /** Gradient bucket size in bytes (default 25 MiB: DDP's bucket_cap_mb = 25). */
  bucketBytes?: number;
  /**
   * Size cap of the bucket that holds the first-defined parameters, whose gradients come last in
   * backward: a small one leaves little to reduce after backward ends. Default 1 MiB (DDP's
   * dist._DEFAULT_FIRST_BUCKET_BYTES), but never above bucketBytes.
   */
  firstBucketBytes?: number;
  /**
   * Parameters may get no gradient in an iteration (default false, as DDP). When true,
   * prepareForBackward needs the forward's outputs: the parameters not reached from them count as
   * unused, their share of the buckets is zeros, and a parameter unused on every rank keeps its
   * gradient as it was (none stays none). When false, every parameter must get a gradient in every
   * backward; otherwise the reduction of that iteration never completes (its gradients stay
   * local, not averaged) and the next prepareForBackward throws, naming the parameters.
   */
  findUnusedParameters?: boolean;
  /** syncBuffers() broadcasts the module's buffers from rank 0 (default true, as DDP's broadcast_buffers). */
  broadcastBuffers?: boolean;
}

/** One bucket's allreduce in the last iteration; times in ms since prepareForBackward. */
export interface BucketTiming {
  /** The Reducer's bucket index (its order of reduction). */
  bucket: number;
  launchMs: number;
  /**
   * When the allreduce completed (undefined if it did not, or on NCCL: its allreduce completes on a
   * CUDA stream after the host has moved on, and that end is not timed).
   */
  doneMs?: number;
  /** Parameters that had no gradient yet when the bucket was launched (with gradients zeroed to none before backward: > 0 means the launch overlapped backward). */
  gradsPending: number;
}

/** The gradient communication of the last iteration. */
export interface CommStats {
  /** Buckets allreduced. */
  buckets: number;
  /** Launch to completion, summed over the buckets with a doneMs (they overlap with backward and with each other); 0 on NCCL. */
  allreduceMs: number;
  /** How long the end of backward waited for allreduces still running (undefined if not measured). */
  waitMs?: number;
  /** When backward's computation ended, in ms since prepareForBackward (undefined if not measured). */
  backwardEndMs?: number;
  /** Per bucket, in launch order. */
  timeline: BucketTiming[];
}

const DDP = 'DistributedDataParallel';

/**
 * torch.nn.parallel.DistributedDataParallel's gradient side, on libtorch's own c10d::Reducer:
 *
 *   const ddp = new DistributedDataParallel(model, pg);   // rank 0's parameters and buffers everywhere
 *   for (const batch of loader) {
 *     ddp.syncBuffers();                                  // as DDP's forward (broadcastBuffers)
 *     const loss = torch.tidy(() => criterion(model.forward(batch.x), batch.y));
 *     ddp.prepareForBackward();                           // right before backward
 *     loss.backward();                                    // returns with the gradients averaged
 *     optimizer.step();
 *   }
 *   ddp.close();
 *
 * Buckets are filled in the reverse order of the parameters (the last layers' gradients come
 * first in backward) and rebuilt once, after the first iteration, in the order the gradients
 * actually came (DDP's rebuild_buckets). Averaging is a sum over ranks of gradient / worldSize,
 * as DDP's default. A backward not preceded by prepareForBackward only accumulates local gradients
 * (DDP's no_sync). Every rank must run the same number of iterations. The Reducer holds the
 * parameters' tensors: build it after moving the model to its device, as DDP.
 */
export class DistributedDataParallel {
  readonly module: Module;
  readonly pg: ProcessGroup;
  readonly findUnusedParameters: boolean;
  readonly broadcastBuffers: boolean;
  /** The parameters reduced (those of module that require grad), in registration order. */
  readonly params: readonly Tensor[];
  private readonly paramNames: string[];
  private readonly bucketBytes: number;
  private handle: NativeReducer | null;

  /**
   * Broadcasts rank 0's parameters and buffers to every rank (after checking that every rank has
   * the same parameter shapes) and attaches the Reducer's hooks to the parameters. A collective:
   * every rank constructs it with the same module structure.
   */
  constructor(module: Module, pg: ProcessGroup, opts: DistributedDataParallelOptions = {}) {
    if (typeof (module as Partial<Module> | null)?.namedParameters !== 'function') throw new TypeError(`${DDP}: module should be a Module, got ${describeValue(module)}`);
    if (!(pg instanceof ProcessGroup)) throw new TypeError(`${DDP}: pg should be a ProcessGroup, got ${describeValue(pg)}`);
    const nativeGroup = pg.live(DDP);
    if (typeof opts !== 'object' || opts === null) throw new TypeError(`${DDP}: options should be an object, got ${describeValue(opts)}`);
    this.bucketBytes = opts.bucketBytes ?? DEFAULT_BUCKET_BYTES;
    checkByteCount('bucketBytes', this.bucketBytes);
    const firstBucketBytes = opts.firstBucketBytes ?? Math.min(DEFAULT_FIRST_BUCKET_BYTES, this.bucketBytes);
    checkByteCount('firstBucketBytes', firstBucketBytes);
    this.findUnusedParameters = checkBool('findUnusedParameters', opts.findUnusedParameters ?? false);
    this.broadcastBuffers = checkBool('broadcastBuffers', opts.broadcastBuffers ?? true);
    const named = [...module.namedParameters()].filter(([, p]) => p.requiresGrad);
    if (named.length === 0) throw new Error(`${DDP}: the module has no parameter that requires grad`);
    this.module = module;
    this.pg = pg;
    this.params = named.map(([, p]) => p);
    this.paramNames = named.map(([n]) => n);
    // The Reducer first: it checks that every rank has rank 0's parameter shapes (which the
    // broadcast needs), but only the ranks that differ learn it; a flag allreduced tells them all.
    let failure: unknown = null;
    this.handle = null;
    try {
      this.handle = c10d().reducerNew(nativeGroup, this.params.map((p) => p._h), this.paramNames, this.bucketBytes, firstBucketBytes, this.findUnusedParameters);
    } catch (err) {
      failure = err;
    }
    const failed = torch.tensor([failure === null ? 0 : 1], { dtype: 'int32' });
    try {
      pg.allreduce(failed, { op: 'max' }).wait();
      if (failure !== null) throw failure;
      if (failed.item() !== 0) throw new Error(`${DDP}: another rank could not build its Reducer (its parameters differ from rank 0's? see that rank's error)`);
    } catch (err) {
      this.close();
      throw err;
    } finally {
      failed.dispose();
    }
    try {
      broadcastParameters(module, pg, { bucketBytes: this.bucketBytes });
    } catch (err) {
      this.close();
      throw err;
    }
  }

  get closed(): boolean {
    return this.handle === null;
  }

  /**
   * Call right before loss.backward(): that backward then averages the gradients across ranks,
   * bucket by bucket while it runs, and returns once they are averaged. `outputs`: the forward's
   * outputs (needed with findUnusedParameters, ignored otherwise). Throws if the previous
   * iteration's reduction did not finish (see findUnusedParameters).
   */
  prepareForBackward(outputs: Tensor[] = []): void {
    const fn = `${DDP}.prepareForBackward`;
    const h = this.live(fn);
    if (!Array.isArray(outputs)) throw new TypeError(`${fn}: outputs should be an array of Tensors, got ${describeValue(outputs)}`);
    outputs.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new TypeError(`${fn}: outputs[${i}] should be a Tensor, got ${describeValue(t)}`);
    });
    if (this.findUnusedParameters && outputs.length === 0) {
      throw new TypeError(`${fn}: outputs should be the forward's outputs with findUnusedParameters (parameters not reached from them count as unused)`);
    }
    try {
      c10d().reducerPrepareForBackward(h, outputs.map((t) => t._h));
    } catch (err) {
      throw this.explain(fn, err as Error);
    }
  }

  /** Broadcasts the module's buffers from rank 0 (call before the forward; a no-op unless broadcastBuffers). */
  syncBuffers(): void {
    const fn = `${DDP}.syncBuffers`;
    this.live(fn);
    const buffers = [...this.module.buffers()];
    if (!this.broadcastBuffers || buffers.length === 0 || this.pg.worldSize === 1) return;
    broadcastTensors(buffers, this.pg, { bucketBytes: this.bucketBytes });
  }

  /** The gradient communication of the last iteration (after its backward has returned). */
  commStats(): CommStats {
    const { backwardEndMs, buckets } = c10d().reducerStats(this.live(`${DDP}.commStats`));
    const timeline: BucketTiming[] = buckets.map(([bucket, launchMs, doneMs, gradsPending]) => ({
      bucket, launchMs, gradsPending, ...(doneMs >= 0 ? { doneMs } : {}),
    }));
    let allreduceMs = 0;
    let lastDone = -Infinity;
    for (const b of timeline) {
      if (b.doneMs === undefined) continue;
      allreduceMs += b.doneMs - b.launchMs;
      lastDone = Math.max(lastDone, b.doneMs);
    }
    const allDone = timeline.length > 0 && timeline.every((b) => b.doneMs !== undefined);
    const stats: CommStats = { buckets: timeline.length, allreduceMs, timeline };
    if (backwardEndMs >= 0) {
      stats.backwardEndMs = backwardEndMs;
      if (allDone) stats.waitMs = Math.max(0, lastDone - backwardEndMs);
    }
    return stats;
  }

  /** Detaches the Reducer from the parameters (idempotent; the process group stays open). */
  close(): void {
    if (this.handle) c10d().reducerClose(this.handle);
    this.handle = null;
  }

  private live(fn: string): NativeReducer {
    if (!this.handle) throw new Error(`${fn}: the DistributedDataParallel is closed`);
    return this.handle;
  }

  /** The Reducer's unfinished-reduction error, in this API's terms; other errors as they are. */
  private explain(fn: string, err: Error): Error {
    const msg = String(err?.message);
    if (!/Expected to have finished reduction in the prior iteration/.test(msg)) return err;
    const m = /Parameter indices which did not receive grad for rank \d+: ([\d ]+)/.exec(msg);
    const missing = m ? m[1].trim().split(/\s+/).map((i) => this.paramNames[Number(i)] ?? `#${i}`) : [];
    const which = missing.length > 0 ? `parameters that got no gradient on this rank: ${missing.join(', ')}` : 'some parameters got no gradient on this rank';
    const advice = this.findUnusedParameters
      ? 'was prepareForBackward called twice without a backward in between?'
      : 'with findUnusedParameters false every parameter must take part in the loss of every iteration: pass findUnusedParameters: true (and the outputs to prepareForBackward), or set requiresGrad = false on parameters that are never used; was prepareForBackward called without a backward?';
    return new Error(`${fn}: the previous iteration's gradient reduction did not finish (its gradients were not averaged): ${which}; ${advice} This DistributedDataParallel cannot go on: close() it.`);
  }
}

function checkByteCount(name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new RangeError(`${DDP}: ${name} should be a positive integer (bytes), got ${describeValue(v)}`);
}

function checkBool(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${DDP}: ${name} should be a boolean, got ${describeValue(v)}`);
  return v;
}
