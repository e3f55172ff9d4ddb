/**
 * How a distributed runner keeps the ranks' models equal: every rank starts from rank 0's
 * weights, and each step's gradients are averaged across ranks before the optimizer steps.
 * The runner drives it through GradSync only, so the implementation can change in one place
 * (createGradSync) — today broadcast + bucketed allreduce after backward; later DDP's Reducer,
 * which overlaps the allreduces with backward.
 */
import type { Tensor } from '../torch';
import { allreduceGradients, broadcastTensors, type ProcessGroup } from '../distributed';
import type { TrainableModel } from './types';

/** Gradient synchronisation around one training step's backward. */
export interface GradSync {
  /** Called after the forward, just before backward (the Reducer prepares its buckets here). */
  beforeBackward(): void;
  /** Called when backward has returned: afterwards every rank's gradients are the mean over ranks. */
  afterBackward(): void;
  /** Communication counters, for logs and benchmarks. */
  commStats?(): Record<string, number>;
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

/** The GradSync a distributed runner uses (the one place to swap in DDP's Reducer). */
export function createGradSync(model: TrainableModel<unknown, unknown>, pg: ProcessGroup): GradSync {
  return new AllreduceGradSync(model, pg);
}
