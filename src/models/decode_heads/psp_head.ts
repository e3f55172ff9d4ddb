/**
 * PSPNet's head (Zhao et al., 2017), as MMSegmentation 1.2's PSPHead: the pyramid pooling module (PPM)
 * on x [N, Cin, h, w]: for each pool scale s, adaptive average pooling to s×s, a 1×1 ConvModule to
 * `channels`, bilinear upsampling back to h×w; x and the len(poolScales) branches are concatenated
 * ([N, Cin + S·channels, h, w]) and fused by the 3×3 `bottleneck`, then conv_seg.
 *
 * Parameters: psp_modules.{i}.1.conv / .bn (index 0 of each branch is the pooling), bottleneck, conv_seg.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { AdaptiveAvgPool2d, ConvModule, ModuleList, Sequential, type NormConfig } from '../../nn';
import type { PSPHeadConfig } from '../segmentors/config';
import { BaseDecodeHead } from './base';

export type PSPHeadOptions = Omit<PSPHeadConfig, 'type'>;

/** Checks a list of pool scales (PSPHead, UPerHead). */
export function checkPoolScales(scales: unknown, what: string): number[] {
  if (!Array.isArray(scales) || scales.length === 0 || !scales.every((s) => Number.isInteger(s) && s >= 1)) {
    throw new Error(`${what}.poolScales: expected a non-empty list of positive integers, got ${JSON.stringify(scales)}`);
  }
  return [...scales] as number[];
}

/** The pyramid pooling module: one (pool, 1×1 ConvModule) branch per scale; forward gives the branches upsampled to x's size. */
export class PPM extends ModuleList<Sequential> {
  constructor(readonly poolScales: number[], inChannels: number, channels: number, normCfg: NormConfig | null, readonly alignCorners: boolean) {
    super();
    for (const s of poolScales) this.append(new Sequential(new AdaptiveAvgPool2d(s), new ConvModule(inChannels, channels, 1, { normCfg })));
  }

  /** x [N, Cin, h, w] → one [N, channels, h, w] per scale. */
  forward(x: Tensor): Tensor[] {
    const [h, w] = x.shape.slice(2);
    return torch.tidy(() => this.map((branch) => torch.F.interpolate(branch.forward(x), { size: [h, w], mode: 'bilinear', alignCorners: this.alignCorners })));
  }
}

export class PSPHead extends BaseDecodeHead {
  readonly psp: PPM;
  readonly bottleneck: ConvModule;

  constructor(opts: PSPHeadOptions, what = 'decodeHead') {
    super(opts, what);
    const scales = checkPoolScales(opts.poolScales, what);
    const inChannels = this.singleInChannels();
    this.psp = this.registerModule('psp_modules', new PPM(scales, inChannels, this.channels, this.normCfg, this.alignCorners));
    this.bottleneck = this.registerModule('bottleneck', new ConvModule(inChannels + scales.length * this.channels, this.channels, 3, { padding: 1, normCfg: this.normCfg }));
  }

  forward(inputs: Tensor[]): Tensor {
    return torch.tidy(() => {
      const x = this.transformInput(inputs);
      return this.clsSeg(this.bottleneck.forward(torch.cat([x, ...this.psp.forward(x)], 1)));
    });
  }
}
