/**
 * torchvision 0.14's DeepLabHead (models/segmentation/deeplabv3.py) with mmseg-style parameter names, for
 * torchvision's deeplabv3_resnet50 (configs/torchvision/deeplabv3_resnet50.ts). Its structure differs
 * from mmseg's ASPPHead, so it is its own head rather than an ASPPHead config:
 * - the branches are concatenated as [1×1, dilated 3×3 ..., image pooling] (mmseg: pooling first);
 * - the concatenation goes through a 1×1 `project` ConvModule and an elementwise Dropout(0.5), then the
 *   3×3 `bottleneck` ConvModule on `channels` (mmseg: one 3×3 bottleneck over the concatenation);
 * - no dropout before conv_seg (dropoutRatio 0 in the config).
 * The pooling branch is upsampled bilinearly with align_corners false, as torchvision's ASPPPooling
 * (the config's alignCorners false).
 *
 * Parameters: aspp_modules.{i}.conv / .bn, image_pool.1.conv / .bn, project.conv / .bn,
 * bottleneck.conv / .bn, conv_seg.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { ConvModule, Dropout } from '../../nn';
import type { TorchvisionDeepLabHeadConfig } from '../segmentors/config';
import { ASPPHead } from './aspp_head';

export type TorchvisionDeepLabHeadOptions = Omit<TorchvisionDeepLabHeadConfig, 'type'>;

export class TorchvisionDeepLabHead extends ASPPHead {
  readonly project: ConvModule;
  /** Elementwise dropout after the projection (null when projectDropout ≤ 0). */
  readonly projectDropout: Dropout | null;

  constructor(opts: TorchvisionDeepLabHeadOptions, what = 'decodeHead') {
    super(opts, what);
    const p = opts.projectDropout ?? 0.5;
    if (!(typeof p === 'number' && p < 1)) throw new Error(`${what}.projectDropout: expected a number below 1 (≤ 0: none), got ${p}`);
    const concat = (this.dilations.length + 1) * this.channels;
    this.project = this.registerModule('project', new ConvModule(concat, this.channels, 1, { normCfg: this.normCfg }));
    this.projectDropout = p > 0 ? this.registerModule('project_dropout', new Dropout(p)) : null;
  }

  /** torchvision's 3×3 conv after the ASPP runs on the projected channels. */
  protected override bottleneckInChannels(): number {
    return this.channels;
  }

  protected override asppFeatures(x: Tensor): Tensor {
    return torch.tidy(() => {
      const pooled = this.resizeTo(this.imagePool.forward(x), [x.shape[2], x.shape[3]]);
      let y = this.project.forward(torch.cat([...this.asppModules.map((m) => m.forward(x)), pooled], 1));
      if (this.projectDropout) y = this.projectDropout.forward(y);
      return this.bottleneck.forward(y);
    });
  }
}
