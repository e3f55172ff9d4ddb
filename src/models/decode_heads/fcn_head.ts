/**
 * FCN's head (Long et al., 2015), as MMSegmentation 1.2's FCNHead: numConvs k×k ConvModules on the
 * selected input x [N, Cin, h, w], optionally concatenated with x and fused by `conv_cat`, then conv_seg.
 * Also the auxiliary head of most mmseg configs (numConvs 1, concatInput false) and HRNet's head
 * (numConvs 1, kernelSize 1, 'resize_concat' over the four branches).
 *
 * Parameters: convs.{i}.conv / .bn, conv_cat.conv / .bn, conv_seg.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { ConvModule, Sequential } from '../../nn';
import type { FCNHeadConfig } from '../segmentors/config';
import { BaseDecodeHead } from './base';

export type FCNHeadOptions = Omit<FCNHeadConfig, 'type'>;

export class FCNHead extends BaseDecodeHead {
  readonly numConvs: number;
  readonly concatInput: boolean;
  /** The numConvs ConvModules (empty when numConvs is 0: the identity). */
  readonly convs: Sequential;
  readonly convCat: ConvModule | null;

  constructor(opts: FCNHeadOptions, what = 'decodeHead') {
    super(opts, what);
    const numConvs = opts.numConvs ?? 2;
    const kernelSize = opts.kernelSize ?? 3;
    const dilation = opts.dilation ?? 1;
    if (!(Number.isInteger(numConvs) && numConvs >= 0)) throw new Error(`${what}.numConvs: expected an integer ≥ 0, got ${numConvs}`);
    if (!(Number.isInteger(kernelSize) && kernelSize >= 1)) throw new Error(`${what}.kernelSize: expected a positive integer, got ${kernelSize}`);
    if (!(Number.isInteger(dilation) && dilation >= 1)) throw new Error(`${what}.dilation: expected a positive integer, got ${dilation}`);
    const inChannels = this.singleInChannels();
    if (numConvs === 0 && inChannels !== this.channels) {
      throw new Error(`${what}.numConvs: 0 convs needs inChannels (${inChannels}) equal to channels (${this.channels})`);
    }
    this.numConvs = numConvs;
    this.concatInput = opts.concatInput ?? true;
    const convOpts = { normCfg: this.normCfg };
    const padding = Math.floor(kernelSize / 2) * dilation;
    this.convs = this.registerModule('convs', new Sequential());
    for (let i = 0; i < numConvs; i++) {
      this.convs.append(new ConvModule(i === 0 ? inChannels : this.channels, this.channels, kernelSize, { ...convOpts, padding, dilation }));
    }
    this.convCat = this.concatInput
      ? this.registerModule('conv_cat', new ConvModule(inChannels + this.channels, this.channels, kernelSize, { ...convOpts, padding: Math.floor(kernelSize / 2) }))
      : null;
  }

  forward(inputs: Tensor[]): Tensor {
    return torch.tidy(() => {
      const x = this.transformInput(inputs);
      let feats = this.convs.forward(x);
      if (this.convCat) feats = this.convCat.forward(torch.cat([x, feats], 1));
      return this.clsSeg(feats);
    });
  }
}
