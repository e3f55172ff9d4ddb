/**
 * Semantic-segmentation decode heads (MMSegmentation 1.2's), their builder and their parts.
 *   const head = buildDecodeHead(cfg.decodeHead);   // FCNHead | PSPHead | ASPPHead | ...
 */
import type { DecodeHeadConfig } from '../segmentors/config';
import { BaseDecodeHead } from './base';
import { FCNHead } from './fcn_head';

export { BaseDecodeHead, headNormCfg, type BaseDecodeHeadOptions } from './base';
export { FCNHead, type FCNHeadOptions } from './fcn_head';
export { OhemPixelSampler } from './ohem_pixel_sampler';

/** Builds the head a config names; what is the config path used in error messages ('decodeHead', 'auxiliaryHead[1]'). */
export function buildDecodeHead(cfg: DecodeHeadConfig, what = 'decodeHead'): BaseDecodeHead {
  const { type, ...opts } = cfg;
  switch (type) {
    case 'FCNHead': return new FCNHead(opts as Omit<typeof cfg & { type: 'FCNHead' }, 'type'>, what);
    case 'PSPHead':
    case 'ASPPHead':
    case 'DepthwiseSeparableASPPHead':
    case 'UPerHead':
      throw new Error(`${what}.type: '${type}' is not implemented yet`);
    default:
      throw new Error(`${what}.type: unknown decode head '${String(type)}' (FCNHead, PSPHead, ASPPHead, DepthwiseSeparableASPPHead, UPerHead)`);
  }
}
