/**
 * MMCV's DepthwiseSeparableConvModule (Xception / MobileNet style): a k×k depthwise ConvModule
 * (groups = inChannels) then a 1×1 pointwise ConvModule, each with its own norm and activation.
 * Children `depthwise_conv` and `pointwise_conv` (each `conv`, `bn`), as MMCV names them.
 * x [N, Cin, H, W] → [N, Cout, H', W'].
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { ConvModule, Module, type ActivationConfig, type NormConfig, type Pair } from '../../nn';

export interface DepthwiseSeparableConvOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  /** Norm of both ConvModules (null: none). */
  normCfg?: NormConfig | null;
  /** Activation of both ConvModules (default ReLU; null: none). */
  actCfg?: ActivationConfig | null;
}

export class DepthwiseSeparableConvModule extends Module {
  readonly depthwiseConv: ConvModule;
  readonly pointwiseConv: ConvModule;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: DepthwiseSeparableConvOptions = {}) {
    super();
    const common = { normCfg: opts.normCfg ?? null, actCfg: opts.actCfg };
    this.depthwiseConv = this.registerModule('depthwise_conv', new ConvModule(inChannels, inChannels, kernelSize, {
      ...common, stride: opts.stride, padding: opts.padding, dilation: opts.dilation, groups: inChannels,
    }));
    this.pointwiseConv = this.registerModule('pointwise_conv', new ConvModule(inChannels, outChannels, 1, common));
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.pointwiseConv.forward(this.depthwiseConv.forward(x)));
  }
}
