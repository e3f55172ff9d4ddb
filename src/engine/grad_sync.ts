/**
 * How a distributed runner keeps the ranks' models equal: every rank starts from rank 0's
 * weights, and each step's gradients are averaged across ranks before the optimizer steps.
 * The runner drives it through GradSync only; createGradSync picks the implementation: DDP's own
 * c10d::Reducer (ReducerGradSync: bucketed allreduces that overlap backward), or plain collectives
 * after backward (AllreduceGradSync).
 */
import type { Tensor } from '../torch';
import type { Module } from '../nn';
import { allreduceGradients, broadcastTensors, DistributedDataParallel, type ProcessGroup } from '../distributed';
import type { TrainableModel } from './types';

/** Gradient synchronisation around one training step's backward. */
export interface GradSync {
  /** Called after the forward, just before backward, with the loss about to be back-propagated (the Reducer prepares its buckets here). */
  beforeBackward(loss: Tensor): void;
  /** Called when backward has returned: afterwards every rank's gradients are the mean over ranks. */
  afterBackward(): void;
  /** An error thrown by backward, explained when it came from the gradient allreduces (which run inside backward). */
  explainBackwardError?(e: Error): Error;
  /** Communication counters of the whole run, for the log. */
  commStats?(): Record<string, number>;
  /** The last iteration's communication figures (logged with each iteration: `comm_*` keys). */
  iterStats?(): Record<string, number>;
  /** Releases what the synchroniser holds (idempotent). */
  close(): void;
}

/**
 * GradSync with two plain collectives: the model's state dict (parameters and buffers) broadcast
 * from rank 0 on construction (DDP's _sync_module_states), and allreduceGradients after backward.
 */
export class AllreduceGradSync implements GradSync {
  private readonly params: Tensor[];
  private allreduces = 0;
  private seconds = 0;

  constructor(model: TrainableModel<unknown, unknown>, private readonly pg: ProcessGroup) {
    // the state dict's tensors are the model's own, so the broadcast writes into the model
    broadcastTensors([...model.stateDict().values()], pg);
    this.params = [...model.namedParameters()].map(([, p]) => p).filter((p) => p.requiresGrad);
  }

  beforeBackward(): void {}

  afterBackward(): void {
    const start = performance.now();
    try {
      allreduceGradients(this.params, this.pg);
    } catch (e) {
      throw new Error(`gradient allreduce failed: ${(e as Error).message} (another rank died, failed or hung; collectives time out after ${this.pg.timeoutMs / 1000} s)`);
    }
    this.seconds += (performance.now() - start) / 1000;
    this.allreduces++;
  }

  /** `steps`: gradient allreduces done; `allreduce_s`: seconds spent in them (not overlapped with backward). */
  commStats(): Record<string, number> {
    return { steps: this.allreduces, allreduce_s: this.seconds };
  }

  close(): void {}
}

/**
 * The model as the Module DistributedDataParallel reads: its trainable parameters and the rest of
 * its state dict as buffers (the state dict's tensors are the model's own).
 */
function asModule(model: TrainableModel<unknown, unknown>): Module {
  const params = [...model.namedParameters()];
  const own = new Set(params.map(([, p]) => p));
  const buffers = [...model.stateDict().values()].filter((t) => !own.has(t));
  return {
    namedParameters: () => params[Symbol.iterator](),
    parameters: () => params.map(([, p]) => p)[Symbol.iterator](),
    buffers: () => buffers[Symbol.iterator](),
  } as unknown as Module;
}

/**
 * GradSync on DistributedDataParallel (libtorch's c10d::Reducer): rank 0's parameters and
 * buffers broadcast on construction, then each backward averages the gradients in ~25 MB buckets
 * whose allreduces start while backward is still running. Buffers are not re-broadcast before
 * each forward (MMEngine's MMDistributedDataParallel sets broadcast_buffers=False).
 */
export class ReducerGradSync implements GradSync {
  private readonly ddp: DistributedDataParallel;
  private readonly timeoutS: number;
  private steps = 0;
  private allreduceMs = 0;
  private waitMs = 0;

  constructor(model: TrainableModel<unknown, unknown>, pg: ProcessGroup, opts: { findUnusedParameters?: boolean; bucketBytes?: number } = {}) {
    this.timeoutS = pg.timeoutMs / 1000;
    this.ddp = new DistributedDataParallel(asModule(model), pg, { findUnusedParameters: opts.findUnusedParameters ?? false, bucketBytes: opts.bucketBytes, broadcastBuffers: false });
  }

  beforeBackward(loss: Tensor): void {
    this.ddp.prepareForBackward([loss]);
  }

  explainBackwardError(e: Error): Error {
    // Gloo's and c10d's failures (a peer's connection closed or reset, a timeout) surface in backward
    if (!/gloo|c10d|connection|timed out|timeout/i.test(e.message)) return e;
    e.message = `${e.message} (the gradient allreduce failed: another rank died, failed or hung; collectives time out after ${this.timeoutS} s)`;
    return e;
  }

  afterBackward(): void {
    const s = this.ddp.commStats();
    this.steps++;
    this.allreduceMs += s.allreduceMs;
    this.waitMs += s.waitMs ?? 0;
  }

  /** `steps`; `allreduce_s`: launch-to-completion seconds summed over buckets (overlapping backward); `wait_s`: seconds backward's end waited for them. */
  commStats(): Record<string, number> {
    return { steps: this.steps, allreduce_s: this.allreduceMs / 1000, wait_s: this.waitMs / 1000 };
  }

  iterStats(): Record<string, number> {
    const s = this.ddp.commStats();
    return { comm_buckets: s.buckets, comm_allreduce_ms: s.allreduceMs, ...(s.waitMs === undefined ? {} : { comm_wait_ms: s.waitMs }) };
  }

  close(): void {
    this.ddp.close();
  }
}

/** The GradSync a distributed runner uses: the Reducer's. */
export function createGradSync(model: TrainableModel<unknown, unknown>, pg: ProcessGroup, opts: { findUnusedParameters?: boolean } = {}): GradSync {
  return new ReducerGradSync(model, pg, opts);
}
