/**
 * DeepLabV3+'s head (Chen et al., 2018), as MMSegmentation 1.2's DepthwiseSeparableASPPHead: ASPPHead
 * with depthwise-separable branches for dilations > 1, then the decoder: the ASPP features [N, channels,
 * h, w] are upsampled to the low-level features' size and concatenated with `c1_bottleneck` (1×1
 * ConvModule, c1InChannels → c1Channels) of inputs[0] [N, c1InChannels, H1, W1] (the raw first backbone
 * output, not inIndex), then two 3×3 depthwise-separable ConvModules (`sep_bottleneck`), then conv_seg.
 * Logits come at inputs[0]'s resolution.
 *
 * Parameters: image_pool.1, aspp_modules.{i} (.conv/.bn for dilation 1; .depthwise_conv / .pointwise_conv
 * otherwise), bottleneck, c1_bottleneck, sep_bottleneck.{0,1}.{depthwise_conv,pointwise_conv}, conv_seg.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { ConvModule, Sequential, type TensorModule } from '../../nn';
import type { DepthwiseSeparableASPPHeadConfig } from '../segmentors/config';
import { DepthwiseSeparableConvModule } from '../layers/depthwise_separable_conv';
import { ASPPHead } from './aspp_head';

export type DepthwiseSeparableASPPHeadOptions = Omit<DepthwiseSeparableASPPHeadConfig, 'type'>;

export class DepthwiseSeparableASPPHead extends ASPPHead {
  /** null when c1InChannels is 0 (no low-level branch). */
  readonly c1Bottleneck: ConvModule | null;
  readonly sepBottleneck: Sequential;

  constructor(opts: DepthwiseSeparableASPPHeadOptions, what = 'decodeHead') {
    super(opts, what);
    const { c1InChannels, c1Channels } = opts;
    if (!(Number.isInteger(c1InChannels) && c1InChannels >= 0)) throw new Error(`${what}.c1InChannels: expected an integer ≥ 0, got ${c1InChannels}`);
    if (!(Number.isInteger(c1Channels) && c1Channels >= 0)) throw new Error(`${what}.c1Channels: expected an integer ≥ 0, got ${c1Channels}`);
    const normCfg = this.normCfg;
    this.c1Bottleneck = c1InChannels > 0 ? this.registerModule('c1_bottleneck', new ConvModule(c1InChannels, c1Channels, 1, { normCfg })) : null;
    this.sepBottleneck = this.registerModule('sep_bottleneck', new Sequential(
      new DepthwiseSeparableConvModule(this.channels + c1Channels, this.channels, 3, { padding: 1, normCfg }),
      new DepthwiseSeparableConvModule(this.channels, this.channels, 3, { padding: 1, normCfg }),
    ));
  }

  protected override asppBranch(dilation: number, inChannels: number): TensorModule {
    if (dilation === 1) return super.asppBranch(dilation, inChannels);
    return new DepthwiseSeparableConvModule(inChannels, this.channels, 3, { dilation, padding: dilation, normCfg: this.normCfg });
  }

  override forward(inputs: Tensor[]): Tensor {
    return torch.tidy(() => {
      let out = this.asppFeatures(this.transformInput(inputs));
      if (this.c1Bottleneck) {
        if (inputs.length === 0) throw new Error(`${this.what}: no backbone outputs`);
        const c1 = this.c1Bottleneck.forward(inputs[0]);
        out = torch.cat([this.resizeTo(out, [c1.shape[2], c1.shape[3]]), c1], 1);
      }
      return this.clsSeg(this.sepBottleneck.forward(out));
    });
  }
}
