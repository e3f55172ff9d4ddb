/**
 * Normalization layers with PyTorch's parameter and buffer names (`weight`, `bias`,
 * `running_mean`, `running_var`, `num_batches_tracked`), so checkpoints load as
 * they are.
 */
import * as torch from '../torch';
import type { Tensor } from '../torch';
import { Module } from './module';

function checkPositiveInt(layer: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${layer}: ${name} must be a positive integer, got ${v}`);
}

/** Throws a RangeError naming `layer` unless x is [N, channels, H, W]. */
export function check4d(layer: string, x: Tensor, channels: number): void {
  const s = x.shape;
  if (s.length !== 4) throw new RangeError(`${layer}: expected a 4-d input [N, C, H, W], got shape [${s.join(', ')}]`);
  if (s[1] !== channels) throw new RangeError(`${layer}: expected ${channels} channels, got input of shape [${s.join(', ')}]`);
}

export interface BatchNormOptions {
  eps?: number;
  /** Weight of the new batch statistics in the running averages; null: cumulative average. Default 0.1. */
  momentum?: number | null;
  /** Learnable weight and bias (default true). */
  affine?: boolean;
  /** Keep running statistics (default true); without them batch statistics are used in eval mode too. */
  trackRunningStats?: boolean;
}

/**
 * Batch normalization over [N, C, H, W], as torch.nn.BatchNorm2d: batch statistics
 * in training mode (updating the running buffers and num_batches_tracked), running
 * statistics in eval mode. After freeze() it stays in eval mode whatever train() says.
 */
export class BatchNorm2d extends Module {
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor | null; /* [C] */
  readonly runningVar: Tensor | null; /* [C] */
  readonly numBatchesTracked: Tensor | null; /* [] int64 */
  /** Set by freeze(): running statistics are no longer updated (MMDetection's norm_eval). */
  statsFrozen = false;

  constructor(readonly numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    checkPositiveInt('BatchNorm2d', 'numFeatures', numFeatures);
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    this.affine = opts.affine ?? true;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    this.weight = this.registerParameter('weight', this.affine ? torch.ones([numFeatures]) : null);
    this.bias = this.registerParameter('bias', this.affine ? torch.zeros([numFeatures]) : null);
    const track = this.trackRunningStats;
    this.runningMean = this.registerBuffer('running_mean', track ? torch.zeros([numFeatures]) : null);
    this.runningVar = this.registerBuffer('running_var', track ? torch.ones([numFeatures]) : null);
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', track ? torch.zeros([], { dtype: 'int64' }) : null);
  }

  forward(x: Tensor): Tensor {
    check4d('BatchNorm2d', x, this.numFeatures);
    const factor = this.countBatch();
    const useBatchStats = this.training || this.runningMean === null;
    const useRunning = !this.training || this.trackRunningStats;
    return torch.F.batchNorm(x, useRunning ? this.runningMean : null, useRunning ? this.runningVar : null, {
      weight: this.weight, bias: this.bias, training: useBatchStats, momentum: factor, eps: this.eps,
    });
  }

  /**
   * In training mode, counts the batch in num_batches_tracked; returns the weight of the batch's
   * statistics in the running averages: momentum, or 1 / batches seen when momentum is null.
   */
  protected countBatch(): number {
    let factor = this.momentum ?? 0;
    if (this.training && this.numBatchesTracked) {
      this.numBatchesTracked.add_(1);
      if (this.momentum === null) factor = 1 / this.numBatchesTracked.item();
    }
    return factor;
  }

  override train(mode = true): this {
    super.train(mode);
    if (this.statsFrozen) this.training = false;
    return this;
  }

  protected override freezeStatistics(): void {
    this.statsFrozen = true;
    this.training = false;
  }

  protected override optionalStateKeys(): readonly string[] {
    return this.trackRunningStats ? ['num_batches_tracked'] : [];
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}${this.statsFrozen ? ', frozen' : ''}`;
  }
}

/**
 * BatchNorm2d with fixed statistics and affine parameters, as torchvision's
 * FrozenBatchNorm2d: weight, bias, running_mean and running_var are buffers (never
 * trained); y = x · scale + (bias − running_mean · scale), scale = weight · rsqrt(running_var + eps).
 */
export class FrozenBatchNorm2d extends Module {
  readonly weight: Tensor; /* [C] */
  readonly bias: Tensor; /* [C] */
  readonly runningMean: Tensor; /* [C] */
  readonly runningVar: Tensor; /* [C] */

  constructor(readonly numFeatures: number, readonly eps = 1e-5) {
    super();
    checkPositiveInt('FrozenBatchNorm2d', 'numFeatures', numFeatures);
    this.weight = this.registerBuffer('weight', torch.ones([numFeatures]));
    this.bias = this.registerBuffer('bias', torch.zeros([numFeatures]));
    this.runningMean = this.registerBuffer('running_mean', torch.zeros([numFeatures]));
    this.runningVar = this.registerBuffer('running_var', torch.ones([numFeatures]));
  }

  forward(x: Tensor): Tensor {
    check4d('FrozenBatchNorm2d', x, this.numFeatures);
    return torch.tidy(() => {
      const w = this.weight.reshape(1, -1, 1, 1);
      const b = this.bias.reshape(1, -1, 1, 1);
      const rv = this.runningVar.reshape(1, -1, 1, 1);
      const rm = this.runningMean.reshape(1, -1, 1, 1);
      const scale = w.mul(rv.add(this.eps).rsqrt());
      const bias = b.sub(rm.mul(scale));
      return x.mul(scale).add(bias);
    });
  }

  /** Checkpoints of BatchNorm2d carry num_batches_tracked; torchvision drops it on load. */
  protected override ignoredStateKeys(): readonly string[] {
    return ['num_batches_tracked'];
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}`;
  }
}

/** Group normalization over [N, C, ...]: weight and bias [C]. */
export class GroupNorm extends Module {
  readonly eps: number;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  constructor(readonly numGroups: number, readonly numChannels: number, opts: { eps?: number; affine?: boolean } = {}) {
    super();
    checkPositiveInt('GroupNorm', 'numGroups', numGroups);
    checkPositiveInt('GroupNorm', 'numChannels', numChannels);
    if (numChannels % numGroups !== 0) throw new RangeError(`GroupNorm: numChannels (${numChannels}) must be divisible by numGroups (${numGroups})`);
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.affine ?? true;
    this.weight = this.registerParameter('weight', affine ? torch.ones([numChannels]) : null);
    this.bias = this.registerParameter('bias', affine ? torch.zeros([numChannels]) : null);
  }

  forward(x: Tensor): Tensor {
    return torch.F.groupNorm(x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${this.eps}`;
  }
}

/** Layer normalization over the trailing normalizedShape dimensions. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  constructor(normalizedShape: number | number[], opts: { eps?: number; elementwiseAffine?: boolean } = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    for (const s of this.normalizedShape) checkPositiveInt('LayerNorm', 'normalizedShape', s);
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.elementwiseAffine ?? true;
    this.weight = this.registerParameter('weight', affine ? torch.ones(this.normalizedShape) : null);
    this.bias = this.registerParameter('bias', affine ? torch.zeros(this.normalizedShape) : null);
  }

  forward(x: Tensor): Tensor {
    return torch.F.layerNorm(x, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `[${this.normalizedShape}], eps=${this.eps}`;
  }
}

/** Whether m is a normalization layer (for paramwise options: no weight decay on norms). */
export function isNormLayer(m: Module): boolean {
  return m instanceof BatchNorm2d || m instanceof FrozenBatchNorm2d || m instanceof GroupNorm || m instanceof LayerNorm;
}
