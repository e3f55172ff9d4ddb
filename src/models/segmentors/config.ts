/**
 * The JSON-serializable model section of a semantic-segmentation config (mmseg's `model`
 * dict in camelCase). Types only: src/models/segmentors/build.ts builds from them; configs and
 * the segmentation task import them. Field names follow mmseg's keys so that a user of mmseg
 * finds each hyper-parameter where they expect it.
 */
import type { ResNetNormType, ResNetOptions } from '../backbones/resnet';
import type { PretrainedInitCfg } from '../init_cfg';

/** mmseg's SegDataPreprocessor. */
export interface SegDataPreprocessorConfig {
  /** Per-channel mean and std in 0..255 (mmseg: [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]). */
  mean: [number, number, number];
  std: [number, number, number];
  /** Channel order the model expects (mmseg's bgr_to_rgb=True: 'rgb'). */
  order: 'rgb' | 'bgr';
  /** Training batches are padded to this [h, w] (the crop size); null: to the largest image. */
  size: [number, number] | null;
  /** Pad value of images (0) and of label maps (255). */
  padVal: number;
  segPadVal: number;
}

/**
 * ResNetV1c / ResNetV1d / ResNet as mmseg's backbone: ResNetOptions (strides, dilations, contractDilation,
 * multiGrid, stemChannels, ...), with deepStem and avgDown set by the type as mmseg's classes do
 * (ResNetV1c: deep stem; ResNetV1d: deep stem and average-pool downsampling; ResNet: as given, default off).
 */
export interface SegResNetConfig extends ResNetOptions {
  type: 'ResNetV1c' | 'ResNetV1d' | 'ResNet';
  initCfg?: PretrainedInitCfg | null;
}

/** One HRNet stage (mmseg's extra.stageN). */
export interface HRNetStageConfig {
  numModules: number;
  numBranches: number;
  block: 'BOTTLENECK' | 'BASIC';
  numBlocks: number[];
  numChannels: number[];
}

/** mmpose's extra.upsample: how its fuse layers upsample (default nearest, align_corners None). */
export interface HRNetUpsampleConfig {
  mode: 'nearest' | 'bilinear';
  /** Bilinear only (null/absent: false). */
  alignCorners?: boolean | null;
}

/** HRNetV2 as mmseg's / mmpose's HRNet backbone (src/models/backbones/hrnet.ts). */
export interface HRNetConfig {
  type: 'HRNet';
  /**
   * The four stages; `upsample` (optional, added for pose) is mmpose's extra.upsample and needs
   * flavor 'mmpose'.
   */
  extra: { stage1: HRNetStageConfig; stage2: HRNetStageConfig; stage3: HRNetStageConfig; stage4: HRNetStageConfig; upsample?: HRNetUpsampleConfig };
  /** Keep every BN in eval mode (running statistics) while training (false). */
  normEval?: boolean;
  /** MMCV's norm_cfg.type: 'BN' (default) or 'SyncBN' (SyncBatchNorm: BN in one process, synchronized across ranks). */
  normType?: ResNetNormType;
  /** -1 none (default); k ≥ 0: the stem, then layer1+transition1, stage2+transition2, ... up to k. */
  frozenStages?: number;
  /**
   * Output all four branches (mmseg's multiscale_output, default true with flavor 'mmseg') or only the
   * highest-resolution one (mmpose's extra.stage4.multiscale_output, default false with flavor 'mmpose').
   */
  multiscaleOutput?: boolean;
  /** Each block's last BN starts at 0 (false). */
  zeroInitResidual?: boolean;
  /**
   * Added (optional): whose HRNet — 'mmseg' (default: bilinear fuse upsampling + resize, Kaiming init) or
   * 'mmpose' (extra.upsample, default nearest, no resize; N(0, 0.001²) init). Same parameter names.
   */
  flavor?: 'mmseg' | 'mmpose';
  /** Added (optional): input image channels (mmseg's in_channels, 3). */
  inChannels?: number;
  initCfg?: PretrainedInitCfg | null;
}

export type SegBackboneConfig = SegResNetConfig | HRNetConfig;

/** mmseg's CrossEntropyLoss (softmax), with class weights, ignore index and loss weight. */
export interface SegLossConfig {
  type: 'CrossEntropyLoss';
  useSigmoid?: boolean;
  /** Per-class weights (length numClasses) or null. */
  classWeight?: number[] | null;
  lossWeight: number;
  /** mmseg's loss_name (default 'loss_ce'). */
  lossName?: string;
  /** 'mean' over non-ignored pixels (mmseg's avg_non_ignore) or over all pixels (mmseg's default). */
  avgNonIgnore?: boolean;
}

/** mmseg's OHEMPixelSampler (src/models/decode_heads/ohem_pixel_sampler.ts). */
export interface OhemSamplerConfig {
  type: 'OHEMPixelSampler';
  /** Keep pixels whose softmax probability of the true class is below this; null/absent (mmseg's default): the minKept pixels of highest loss. */
  thresh?: number | null;
  /** Pixels kept per image, at least (mmseg's min_kept, default 100000). */
  minKept?: number;
}

/** Fields every decode head has (mmseg's BaseDecodeHead). */
export interface BaseDecodeHeadConfig {
  inChannels: number | number[];
  inIndex: number | number[];
  channels: number;
  numClasses: number;
  dropoutRatio?: number;
  /** 'resize_concat' | 'multiple_select' | null (mmseg's input_transform). */
  inputTransform?: 'resize_concat' | 'multiple_select' | null;
  alignCorners: boolean;
  lossDecode: SegLossConfig | SegLossConfig[];
  sampler?: OhemSamplerConfig | null;
  /** Normalization of the head's ConvModules: 'BN', or 'SyncBN' (BN in one process, synchronized across the ranks of a distributed run). */
  normCfg?: { type: 'BN' | 'SyncBN'; requiresGrad?: boolean };
}

export interface FCNHeadConfig extends BaseDecodeHeadConfig {
  type: 'FCNHead';
  numConvs?: number;
  kernelSize?: number;
  concatInput?: boolean;
  dilation?: number;
}
export interface PSPHeadConfig extends BaseDecodeHeadConfig {
  type: 'PSPHead';
  poolScales: number[];
}
export interface ASPPHeadConfig extends BaseDecodeHeadConfig {
  type: 'ASPPHead';
  dilations: number[];
}
/**
 * torchvision's DeepLabHead (src/models/decode_heads/torchvision_deeplab_head.ts): ASPP branches then the
 * pooling branch, a 1×1 projection with dropout, the 3×3 bottleneck, conv_seg. Added: not an mmseg head.
 */
export interface TorchvisionDeepLabHeadConfig extends BaseDecodeHeadConfig {
  type: 'TorchvisionDeepLabHead';
  /** One branch per dilation (torchvision: [1, 12, 24, 36], the 1×1 branch first). */
  dilations: number[];
  /** Elementwise dropout after the projection in training (torchvision's ASPP: 0.5; ≤ 0: none). */
  projectDropout?: number;
}
export interface DepthwiseSeparableASPPHeadConfig extends BaseDecodeHeadConfig {
  type: 'DepthwiseSeparableASPPHead';
  dilations: number[];
  c1InChannels: number;
  c1Channels: number;
}
export interface UPerHeadConfig extends BaseDecodeHeadConfig {
  type: 'UPerHead';
  poolScales: number[];
}

export type DecodeHeadConfig = FCNHeadConfig | PSPHeadConfig | ASPPHeadConfig | TorchvisionDeepLabHeadConfig | DepthwiseSeparableASPPHeadConfig | UPerHeadConfig;

/** mmseg's test_cfg: whole-image or sliding-window inference. */
export interface SegTestConfig {
  mode: 'whole' | 'slide';
  /** [h, w] of each window (slide). */
  cropSize?: [number, number];
  /** [h, w] step between windows (slide). */
  stride?: [number, number];
}

export interface EncoderDecoderConfig {
  type: 'EncoderDecoder';
  dataPreprocessor: SegDataPreprocessorConfig;
  backbone: SegBackboneConfig;
  /** Set by configs whose neck exists (none of the first six methods has one). */
  decodeHead: DecodeHeadConfig;
  auxiliaryHead?: DecodeHeadConfig | DecodeHeadConfig[] | null;
  testCfg: SegTestConfig;
}

export type SegmentorModelConfig = EncoderDecoderConfig;
