/**
 * UPerNet's head (Xiao et al., 2018), as MMSegmentation 1.2's UPerHead: an FPN over the selected levels
 * xᵢ [N, Cᵢ, Hᵢ, Wᵢ] (i = 0..L−1, fine to coarse; inputTransform is always 'multiple_select') whose top
 * lateral is the PPM of the last level (`psp_modules` + 3×3 `bottleneck`) and the others 1×1
 * `lateral_convs`; top-down, each lateral adds the bilinearly upsampled coarser one; 3×3 `fpn_convs` on
 * all but the top; every level upsampled to level 0's size, concatenated ([N, L·channels, H0, W0]) and
 * fused by the 3×3 `fpn_bottleneck`, then conv_seg. Logits at level 0's resolution.
 *
 * Parameters: psp_modules.{i}.1, bottleneck, lateral_convs.{i}, fpn_convs.{i}, fpn_bottleneck, conv_seg.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { ConvModule, ModuleList } from '../../nn';
import type { UPerHeadConfig } from '../segmentors/config';
import { BaseDecodeHead } from './base';
import { PPM, checkPoolScales } from './psp_head';

export type UPerHeadOptions = Omit<UPerHeadConfig, 'type'>;

export class UPerHead extends BaseDecodeHead {
  readonly psp: PPM;
  readonly bottleneck: ConvModule;
  readonly lateralConvs: ModuleList<ConvModule>;
  readonly fpnConvs: ModuleList<ConvModule>;
  readonly fpnBottleneck: ConvModule;

  constructor(opts: UPerHeadOptions, what = 'decodeHead') {
    const transform = opts.inputTransform ?? 'multiple_select';
    if (transform !== 'multiple_select') throw new Error(`${what}.inputTransform: UPerHead always selects several levels ('multiple_select'), got '${transform}'`);
    super({ ...opts, inputTransform: 'multiple_select' }, what);
    const scales = checkPoolScales(opts.poolScales, what);
    const inChannels = this.multipleInChannels();
    const top = inChannels[inChannels.length - 1];
    const normCfg = this.normCfg;
    const c = this.channels;
    this.psp = this.registerModule('psp_modules', new PPM(scales, top, c, normCfg, this.alignCorners));
    this.bottleneck = this.registerModule('bottleneck', new ConvModule(top + scales.length * c, c, 3, { padding: 1, normCfg }));
    const lower = inChannels.slice(0, -1);
    this.lateralConvs = this.registerModule('lateral_convs', new ModuleList(lower.map((cin) => new ConvModule(cin, c, 1, { normCfg, inplace: false }))));
    this.fpnConvs = this.registerModule('fpn_convs', new ModuleList(lower.map(() => new ConvModule(c, c, 3, { padding: 1, normCfg, inplace: false }))));
    this.fpnBottleneck = this.registerModule('fpn_bottleneck', new ConvModule(inChannels.length * c, c, 3, { padding: 1, normCfg }));
  }

  forward(inputs: Tensor[]): Tensor {
    return torch.tidy(() => {
      const xs = this.selectInputs(inputs);
      const top = xs[xs.length - 1];
      const laterals = this.lateralConvs.map((conv, i) => conv.forward(xs[i]));
      laterals.push(this.bottleneck.forward(torch.cat([top, ...this.psp.forward(top)], 1)));
      for (let i = laterals.length - 1; i > 0; i--) {
        const [h, w] = laterals[i - 1].shape.slice(2);
        laterals[i - 1] = laterals[i - 1].add(this.resizeTo(laterals[i], [h, w]));
      }
      const outs = this.fpnConvs.map((conv, i) => conv.forward(laterals[i]));
      outs.push(laterals[laterals.length - 1]);
      const [h0, w0] = outs[0].shape.slice(2);
      for (let i = 1; i < outs.length; i++) outs[i] = this.resizeTo(outs[i], [h0, w0]);
      return this.clsSeg(this.fpnBottleneck.forward(torch.cat(outs, 1)));
    });
  }
}
