/**
 * Data-parallel training's two collectives, as torch's DistributedDataParallel performs them:
 * every parameter and buffer taken from one rank at the start (DDP's _sync_module_states), and
 * gradients averaged across ranks after backward, in buckets of about 25 MB (DDP's
 * bucket_cap_mb): each bucket's gradients are copied into one flat tensor, allreduced, divided by
 * the world size and copied back. Unlike DDP's Reducer, the allreduces start after backward, not
 * during it (no overlap of communication with computation yet).
 */
import * as torch from '../torch';
import type { Tensor } from '../torch';
import { DTYPE_SIZE } from '../torch/dtype';
import type { Module } from '../nn';
import type { ProcessGroup } from './process_group';

/** DDP's default bucket size (bucket_cap_mb = 25). */
export const DEFAULT_BUCKET_BYTES = 25 * 2 ** 20;

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
