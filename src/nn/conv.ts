/**
 * Convolutions and the fully connected layer, with PyTorch's parameter names
 * (`weight`, `bias`) and default initialization (kaiming_uniform a=√5, bias
 * uniform in ±1/√fan_in), so freshly built layers match PyTorch's distribution.
 */
import * as torch from '../torch';
import type { Tensor } from '../torch';
import { Module } from './module';
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from './init';

export type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** PyTorch's reset_parameters of Conv*d and Linear. */
function resetParameters(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias) {
    const { fanIn } = calculateFanInAndFanOut(weight);
    if (fanIn !== 0) uniform_(bias, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn));
  }
}

function checkChannels(layer: string, inC: number, outC: number, groups: number): void {
  for (const [name, v] of [['inChannels', inC], ['outChannels', outC], ['groups', groups]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${layer}: ${name} must be a positive integer, got ${v}`);
  }
  if (inC % groups !== 0 || outC % groups !== 0) {
    throw new RangeError(`${layer}: inChannels (${inC}) and outChannels (${outC}) must be divisible by groups (${groups})`);
  }
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  /** Learnable bias (default true). */
  bias?: boolean;
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: Pair;
}

/** What Conv2d and ConvTranspose2d share (PyTorch's _ConvNd). */
abstract class ConvBase extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, opts: Conv2dOptions, transposed: boolean) {
    super();
    this.groups = opts.groups ?? 1;
    checkChannels(this.constructor.name, inChannels, outChannels, this.groups);
    this.kernelSize = pair(kernelSize);
    this.stride = pair(opts.stride ?? 1);
    this.padding = pair(opts.padding ?? 0);
    this.dilation = pair(opts.dilation ?? 1);
    const g = this.groups;
    const shape = transposed ? [inChannels, outChannels / g, ...this.kernelSize] : [outChannels, inChannels / g, ...this.kernelSize];
    this.weight = this.registerParameter('weight', torch.empty(shape));
    this.bias = this.registerParameter('bias', (opts.bias ?? true) ? torch.empty([outChannels]) : null);
    resetParameters(this.weight, this.bias);
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], stride=[${this.stride}], padding=[${this.padding}]${this.groups > 1 ? `, groups=${this.groups}` : ''}${this.bias ? '' : ', bias=false'}`;
  }
}

/** 2-d convolution: [N, inC, H, W] → [N, outC, H', W']. weight [outC, inC/groups, kH, kW], bias [outC]. */
export class Conv2d extends ConvBase {
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: Conv2dOptions = {}) {
    super(inChannels, outChannels, kernelSize, opts, false);
  }

  forward(x: Tensor): Tensor {
    return torch.F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }
}

/** Transposed 2-d convolution. weight [inC, outC/groups, kH, kW], bias [outC]. */
export class ConvTranspose2d extends ConvBase {
  readonly outputPadding: [number, number];

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: ConvTranspose2dOptions = {}) {
    super(inChannels, outChannels, kernelSize, opts, true);
    this.outputPadding = pair(opts.outputPadding ?? 0);
  }

  forward(x: Tensor): Tensor {
    return torch.F.convTranspose2d(x, this.weight, this.bias, {
      stride: this.stride, padding: this.padding, outputPadding: this.outputPadding, dilation: this.dilation, groups: this.groups,
    });
  }
}

/** y = x Wᵀ + b: [..., inFeatures] → [..., outFeatures]. weight [out, in], bias [out]. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean } = {}) {
    super();
    for (const [name, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`Linear: ${name} must be a positive integer, got ${v}`);
    }
    this.weight = this.registerParameter('weight', torch.empty([outFeatures, inFeatures]));
    this.bias = this.registerParameter('bias', (opts.bias ?? true) ? torch.empty([outFeatures]) : null);
    resetParameters(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    return torch.F.linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}${this.bias ? '' : ', bias=false'}`;
  }
}
