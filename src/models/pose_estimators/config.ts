/**
 * The JSON-serializable model section of a top-down pose config: MMPose 1.x's `model` dict in camelCase
 * (TopdownPoseEstimator, ResNet / HRNet backbones, HeatmapHead with its loss and codec). Types only;
 * build.ts builds from them.
 */
import type { ResNetOptions } from '../backbones/resnet';
import type { PretrainedInitCfg } from '../init_cfg';
import type { HRNetConfig } from '../segmentors/config';
import type { CodecConfig } from '../codecs';
import type { KeypointMSELossConfig } from '../losses/keypoint_mse';

export type { HRNetConfig } from '../segmentors/config';
export type { CodecConfig, MSRAHeatmapConfig, UDPHeatmapConfig } from '../codecs';
export type { KeypointMSELossConfig } from '../losses/keypoint_mse';

/** mmpose's ResNet (SimpleBaseline's backbone): mmcv's layout; outIndices default [3] (the last stage only). */
export interface PoseResNetConfig extends ResNetOptions {
  type: 'ResNet';
  initCfg?: PretrainedInitCfg | null;
}

/**
 * mmpose's HRNet: the shared HRNet with flavor 'mmpose' (nearest fuse upsampling, the highest-resolution
 * branch only). flavor defaults to 'mmpose' here; 'mmseg' is refused.
 */
export type PoseHRNetConfig = HRNetConfig;

export type PoseBackboneConfig = PoseResNetConfig | PoseHRNetConfig;

/** mmpose's HeatmapHead. */
export interface HeatmapHeadConfig {
  type: 'HeatmapHead';
  /** Channels of the backbone's last output (2048 for R-50, 32 for HRNet-W32). */
  inChannels: number;
  /** Keypoints K (17 for COCO). */
  outChannels: number;
  /** Stride-2 deconvolutions' widths (mmpose default [256, 256, 256]; null or []: none, as HRNet's). */
  deconvOutChannels?: number[] | null;
  /** Their kernels (default [4, 4, 4]). */
  deconvKernelSizes?: number[] | null;
  convOutChannels?: number[] | null;
  convKernelSizes?: number[] | null;
  /** mmpose's final_layer dict; only kernelSize is read (1). */
  finalLayer?: { kernelSize: number };
  /** Default { type: 'KeypointMSELoss', useTargetWeight: true }. */
  loss?: KeypointMSELossConfig;
  /** The codec that decodes heatmaps at test time (mmpose's head.decoder). */
  decoder: CodecConfig;
}

/** mmpose's test_cfg of a top-down model. */
export interface PoseTestConfig {
  /** Average with the horizontally flipped image's heatmaps (mmpose's flip_test, default false). */
  flipTest?: boolean;
  /** Only 'heatmap' (flip the maps and swap left/right channels). */
  flipMode?: 'heatmap';
  /** Shift the flipped heatmaps one column right (mmpose's shift_heatmap; false by default, true in MSRA configs). */
  shiftHeatmap?: boolean;
  /** Return the (averaged) heatmaps with each prediction (false). */
  outputHeatmaps?: boolean;
}

export interface PoseTrainConfig {
  /** Log acc_pose with the losses (mmpose's compute_acc, true). */
  computeAcc?: boolean;
}

export interface TopdownPoseEstimatorConfig {
  type: 'TopdownPoseEstimator';
  backbone: PoseBackboneConfig;
  /** No neck in the seed's models. */
  neck?: null;
  head: HeatmapHeadConfig;
  testCfg?: PoseTestConfig;
  trainCfg?: PoseTrainConfig;
  /**
   * tsvision's, not mmpose's: the memory order the convolutions run in. Default 'channelsLast'
   * (NHWC, which oneDNN convolves without reordering: 10–20 % faster on CPU, results equal up to
   * float rounding); 'contiguous' runs NCHW as mmpose does. Checkpoints are the same either way.
   */
  memoryFormat?: 'channelsLast' | 'contiguous';
}
