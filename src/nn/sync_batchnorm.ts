/**
 * SyncBatchNorm: batch normalization whose training statistics are those of the batches of all
 * ranks of a process group together, as torch.nn.SyncBatchNorm (which in torch 1.13 runs on CUDA
 * only; this one runs on the group's backend: Gloo with CPU tensors, NCCL with CUDA ones). MMCV's norm_cfg `{ type: 'SyncBN' }` builds it.
 *
 * This is the one place where src/nn knows of src/distributed: it asks for the default process
 * group (initProcessGroup()), as torch's nn asks torch.distributed. Models still know nothing of
 * runners or the CLI: a model built with SyncBN is BN until a process group of several ranks exists.
 */
import * as torch from '../torch';
import type { Tensor } from '../torch';
import { BatchNorm2d, check4d, type BatchNormOptions } from './norm';
import { differentiableAllreduce, getProcessGroup, isInitialized, type ProcessGroup } from '../distributed';

export interface SyncBatchNormOptions extends BatchNormOptions {
  /**
   * The ranks whose batches are normalized together. Default: the default process group
   * (initProcessGroup()) when one is initialized, else none (plain BatchNorm2d).
   */
  processGroup?: ProcessGroup;
}

/**
 * Batch normalization over [N, C, H, W] across processes. In training mode with a process group of
 * more than one rank, mean and variance are those of all ranks' batches together (ranks may have
 * different batch sizes), so outputs, gradients and running statistics equal those of BatchNorm2d
 * over the combined batch, when the loss is the sum of the ranks' losses (the gradients of each
 * rank's parameters are its share: average or sum them across ranks as data-parallel training does).
 * Otherwise (eval mode, one process, no group) it is BatchNorm2d. The parameter and buffer names are
 * BatchNorm2d's, so their checkpoints load into each other.
 *
 * Every rank must run the same SyncBatchNorm layers in the same order, in forward and in backward
 * (both run a collective); a failed collective (a dead peer, the group's timeout) throws an Error.
 */
export class SyncBatchNorm extends BatchNorm2d {
  /** The group given to the constructor (null: the default group, when there is one). */
  readonly processGroup: ProcessGroup | null;

  constructor(numFeatures: number, opts: SyncBatchNormOptions = {}) {
    super(numFeatures, opts);
    this.processGroup = opts.processGroup ?? null;
  }

  /** The group this forward synchronizes over: null in eval mode, without a group, or with one rank. */
  private syncGroup(): ProcessGroup | null {
    if (!this.training) return null;
    const pg = this.processGroup ?? (isInitialized() ? getProcessGroup() : null);
    return pg !== null && pg.worldSize > 1 ? pg : null;
  }

  override forward(x: Tensor): Tensor {
    const pg = this.syncGroup();
    if (pg === null) return super.forward(x);
    check4d('SyncBatchNorm', x, this.numFeatures);
    const factor = this.countBatch();
    return torch.tidy(() => {
      const c = this.numFeatures;
      const [n, , h, w] = x.shape;
      // Per channel: Σx, Σx² and the count, summed over the ranks in one collective that autograd
      // follows back to every rank. In float64, var = E[x²] − mean² of float32 inputs keeps ~1e-9
      // relative accuracy unless |mean| / std exceeds ~1e3 (BatchNorm2d's CPU kernel accumulates in
      // double as well).
      const x64 = x.to('float64');
      const local = torch.cat([
        x64.sum({ dim: [0, 2, 3] }),
        x64.mul(x64).sum({ dim: [0, 2, 3] }),
        torch.full([1], n * h * w, { dtype: 'float64' }),
      ]);
      const total = differentiableAllreduce(local, pg);
      const count = total.narrow(0, 2 * c, 1).item();
      // every rank sees the same count, so every rank throws (none is left waiting in a collective)
      if (count <= 1) {
        throw new RangeError(`SyncBatchNorm: expected more than 1 value per channel over all ${pg.worldSize} ranks when training, got ${count} (this rank's input [${x.shape.join(', ')}])`);
      }
      const mean = total.narrow(0, 0, c).div(count); /* [C] */
      const variance = total.narrow(0, c, c).div(count).sub(mean.mul(mean)).clamp({ min: 0 }); /* [C], biased */
      if (this.runningMean && this.runningVar) {
        const [rm, rv] = [this.runningMean, this.runningVar];
        torch.noGrad(() => {
          rm.copy_(rm.to('float64').mul(1 - factor).add(mean.mul(factor)));
          rv.copy_(rv.to('float64').mul(1 - factor).add(variance.mul((factor * count) / (count - 1))));
        });
      }
      // y = x · scale + shift, as BatchNorm2d's CPU kernel computes it
      const invstd = variance.add(this.eps).rsqrt();
      const scale = this.weight ? invstd.mul(this.weight.to('float64')) : invstd;
      const shift = this.bias ? this.bias.to('float64').sub(mean.mul(scale)) : mean.mul(scale).neg();
      return x.mul(scale.to(x.dtype).reshape(1, -1, 1, 1)).add(shift.to(x.dtype).reshape(1, -1, 1, 1));
    });
  }

  override extraRepr(): string {
    return `${super.extraRepr()}${this.processGroup ? `, processGroup=${this.processGroup.worldSize} ranks` : ''}`;
  }
}
