/**
 * DeepLabV3's head (Chen et al., 2017), as MMSegmentation 1.2's ASPPHead, on x [N, Cin, h, w]:
 * `image_pool` (global average pooling + 1×1 ConvModule, upsampled back to h×w) and one ASPP branch per
 * dilation d (1×1 ConvModule for d = 1, else 3×3 with dilation and padding d), all [N, channels, h, w],
 * concatenated and fused by the 3×3 `bottleneck`, then conv_seg.
 *
 * Parameters: image_pool.1.conv / .bn, aspp_modules.{i}.conv / .bn, bottleneck, conv_seg.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { AdaptiveAvgPool2d, ConvModule, ModuleList, Sequential, type TensorModule } from '../../nn';
import type { ASPPHeadConfig } from '../segmentors/config';
import { BaseDecodeHead } from './base';

export type ASPPHeadOptions = Omit<ASPPHeadConfig, 'type'>;

export class ASPPHead extends BaseDecodeHead {
  readonly dilations: number[];
  readonly imagePool: Sequential;
  /** One branch per dilation (ConvModules here; depthwise-separable ones in DepthwiseSeparableASPPHead). */
  readonly asppModules: ModuleList<TensorModule>;
  readonly bottleneck: ConvModule;

  constructor(opts: ASPPHeadOptions, what = 'decodeHead') {
    super(opts, what);
    const ds = opts.dilations;
    if (!Array.isArray(ds) || ds.length === 0 || !ds.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new Error(`${what}.dilations: expected a non-empty list of positive integers, got ${JSON.stringify(ds)}`);
    }
    this.dilations = [...ds];
    const inChannels = this.singleInChannels();
    const normCfg = this.normCfg;
    this.imagePool = this.registerModule('image_pool', new Sequential(new AdaptiveAvgPool2d(1), new ConvModule(inChannels, this.channels, 1, { normCfg })));
    this.asppModules = this.registerModule('aspp_modules', new ModuleList(this.dilations.map((d) => this.asppBranch(d, inChannels))));
    this.bottleneck = this.registerModule('bottleneck', new ConvModule(this.bottleneckInChannels(), this.channels, 3, { padding: 1, normCfg }));
  }

  /** Input channels of the 3×3 bottleneck: the concatenated branches (called by the constructor). */
  protected bottleneckInChannels(): number {
    return (this.dilations.length + 1) * this.channels;
  }

  /** The branch of one dilation (mmseg's ASPPModule: 1×1 for dilation 1, else 3×3 dilated); called by the constructor. */
  protected asppBranch(dilation: number, inChannels: number): TensorModule {
    return dilation === 1
      ? new ConvModule(inChannels, this.channels, 1, { normCfg: this.normCfg })
      : new ConvModule(inChannels, this.channels, 3, { dilation, padding: dilation, normCfg: this.normCfg });
  }

  /** x [N, Cin, h, w] → the bottleneck's features [N, channels, h, w]. */
  protected asppFeatures(x: Tensor): Tensor {
    return torch.tidy(() => {
      const pooled = this.resizeTo(this.imagePool.forward(x), [x.shape[2], x.shape[3]]);
      return this.bottleneck.forward(torch.cat([pooled, ...this.asppModules.map((m) => m.forward(x))], 1));
    });
  }

  forward(inputs: Tensor[]): Tensor {
    return torch.tidy(() => this.clsSeg(this.asppFeatures(this.transformInput(inputs))));
  }
}
