/**
 * Semantic-segmentation decode heads (MMSegmentation 1.2's), their builder and their parts.
 *   const head = buildDecodeHead(cfg.decodeHead);   // FCNHead | PSPHead | ASPPHead | ...  (TorchvisionDeepLabHead: torchvision's)
 */
import type { DecodeHeadConfig } from '../segmentors/config';
import { BaseDecodeHead } from './base';
import { FCNHead } from './fcn_head';
import { PSPHead } from './psp_head';
import { ASPPHead } from './aspp_head';
import { TorchvisionDeepLabHead } from './torchvision_deeplab_head';
import { DepthwiseSeparableASPPHead } from './sep_aspp_head';
import { UPerHead } from './uper_head';

export { BaseDecodeHead, headNormCfg, type BaseDecodeHeadOptions } from './base';
export { FCNHead, type FCNHeadOptions } from './fcn_head';
export { PSPHead, PPM, type PSPHeadOptions } from './psp_head';
export { ASPPHead, type ASPPHeadOptions } from './aspp_head';
export { TorchvisionDeepLabHead, type TorchvisionDeepLabHeadOptions } from './torchvision_deeplab_head';
export { DepthwiseSeparableASPPHead, type DepthwiseSeparableASPPHeadOptions } from './sep_aspp_head';
export { UPerHead, type UPerHeadOptions } from './uper_head';
export { OhemPixelSampler } from './ohem_pixel_sampler';

/** Builds the head a config names; what is the config path used in error messages ('decodeHead', 'auxiliaryHead[1]'). */
export function buildDecodeHead(cfg: DecodeHeadConfig, what = 'decodeHead'): BaseDecodeHead {
  switch (cfg.type) {
    case 'FCNHead': return new FCNHead(cfg, what);
    case 'PSPHead': return new PSPHead(cfg, what);
    case 'ASPPHead': return new ASPPHead(cfg, what);
    case 'TorchvisionDeepLabHead': return new TorchvisionDeepLabHead(cfg, what);
    case 'DepthwiseSeparableASPPHead': return new DepthwiseSeparableASPPHead(cfg, what);
    case 'UPerHead': return new UPerHead(cfg, what);
    default:
      throw new Error(`${what}.type: unknown decode head '${String((cfg as { type: unknown }).type)}' (FCNHead, PSPHead, ASPPHead, TorchvisionDeepLabHead, DepthwiseSeparableASPPHead, UPerHead)`);
  }
}
