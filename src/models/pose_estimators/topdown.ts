/**
 * TopdownPoseEstimator (MMPose 1.x's): person crops → backbone → heatmap head → codec decode → keypoints in
 * the image, through each crop's centre and scale. SimpleBaseline and HRNet are both this model.
 *
 * Shapes: N crops, K keypoints, images [N, 3, h, w] at the codec's inputSize (w, h); heatmaps [N, K, h', w'].
 * Parameter names are mmpose's (backbone.*, head.*), so mmpose checkpoints load strictly.
 */
import * as torch from '../../torch';
import type { MemoryFormat, Tensor } from '../../torch';
import { Module } from '../../nn';
import type { HeatmapCodec } from '../codecs';
import type { HeatmapHead } from '../pose_heads/heatmap_head';
import type { PoseTestConfig, PoseTrainConfig } from './config';
import type { PoseBatch, PoseEstimator, PoseLossDict, PosePrediction } from './types';

/** A backbone as the estimator uses it: images → feature maps (the head reads the last). */
export interface PoseBackbone extends Module {
  forward(x: Tensor): Tensor[];
}

export interface TopdownPoseEstimatorOptions {
  backbone: PoseBackbone;
  head: HeatmapHead;
  /** Decodes the heatmaps (mmpose's head.decoder). */
  codec: HeatmapCodec;
  testCfg?: PoseTestConfig;
  trainCfg?: PoseTrainConfig;
  /**
   * The order the convolutions run in (default 'contiguous'): with 'channelsLast' the weights are
   * reordered once here and every batch of images on the way in, so oneDNN convolves NHWC without
   * reordering each layer's input and output (about 10–20 % faster on CPU). The outputs are the same
   * up to float rounding; checkpoints are written row-major either way.
   */
  memoryFormat?: MemoryFormat;
}

export class TopdownPoseEstimator extends Module implements PoseEstimator {
  readonly backbone: PoseBackbone;
  readonly head: HeatmapHead;
  readonly codec: HeatmapCodec;
  readonly testCfg: PoseTestConfig;
  readonly trainCfg: PoseTrainConfig;
  readonly memoryFormat: MemoryFormat;

  constructor(o: TopdownPoseEstimatorOptions) {
    super();
    this.backbone = this.registerModule('backbone', o.backbone);
    this.head = this.registerModule('head', o.head);
    this.codec = o.codec;
    this.testCfg = o.testCfg ?? {};
    this.trainCfg = o.trainCfg ?? {};
    this.memoryFormat = o.memoryFormat ?? 'contiguous';
    if (this.memoryFormat !== 'contiguous') this.to({ memoryFormat: this.memoryFormat });
  }

  /** The images in the estimator's memory format (a new handle; the same data when already so). */
  private ordered(images: Tensor): Tensor {
    return images.contiguous(this.memoryFormat);
  }

  /** loss_kpt and acc_pose on a batch with targets. */
  loss(batch: PoseBatch): PoseLossDict {
    if (!batch.targets) throw new Error('TopdownPoseEstimator.loss: the batch has no targets');
    const targets = batch.targets;
    return torch.tidy(() => this.head.loss(this.backbone.forward(this.ordered(batch.images)), targets, { computeAcc: this.trainCfg.computeAcc }));
  }

  /**
   * images [N, 3, h, w] → heatmaps [N, K, h', w'], averaged with the flipped image's under testCfg.flipTest.
   * The flip test runs the images and their mirror images as one batch of 2N (mmpose runs two
   * forwards of N): the same per-crop results (BN uses running statistics in eval mode), in fewer,
   * larger convolutions. In train mode the two halves run apart, as mmpose's.
   */
  forwardHeatmaps(images: Tensor, flipIndices?: number[]): Tensor {
    return torch.tidy(() => {
      if (!this.testCfg.flipTest) return this.head.forward(this.backbone.forward(this.ordered(images)));
      if (!flipIndices) throw new Error('TopdownPoseEstimator.predict: testCfg.flipTest needs metas[0].flipIndices');
      const shift = this.testCfg.shiftHeatmap ?? false;
      const forward = (x: Tensor) => this.head.forward(this.backbone.forward(this.ordered(x)));
      if (this.training) {
        // train-mode BN normalizes by the batch: one batch of 2N would mix the halves' statistics
        return forward(images).add(flipHeatmaps(forward(images.flip([3])), flipIndices, shift)).mul(0.5);
      }
      const n = images.shape[0];
      const both = forward(torch.cat([images, images.flip([3])], 0));
      return both.narrow(0, 0, n).add(flipHeatmaps(both.narrow(0, n, n), flipIndices, shift)).mul(0.5);
    });
  }

  /** Per crop: keypoints [K, 2] in image pixels and scores [K] (mmpose's predict + add_pred_to_datasample). */
  predict(batch: PoseBatch): PosePrediction[] {
    const mode = this.testCfg.flipMode ?? 'heatmap';
    if (mode !== 'heatmap') throw new Error(`model.testCfg.flipMode: only 'heatmap' is implemented, got ${JSON.stringify(mode)}`);
    if (batch.metas.length !== batch.images.shape[0]) throw new Error(`TopdownPoseEstimator.predict: ${batch.metas.length} metas for ${batch.images.shape[0]} images`);
    const heatmaps = torch.noGrad(() => this.forwardHeatmaps(batch.images, batch.metas[0]?.flipIndices));
    try {
      const [n, K, H, W] = heatmaps.shape;
      const data = torch.tidy(() => heatmaps.to('cpu').contiguous().toTypedArray() as Float32Array);
      const [iw, ih] = this.codec.inputSize;
      return batch.metas.map((meta, i) => {
        const { keypoints, scores } = this.codec.decode({ data: data.slice(i * K * H * W, (i + 1) * K * H * W), K, H, W });
        // input pixels → image pixels: / input_size · input_scale + input_center − input_scale / 2
        const [cx, cy] = meta.inputCenter;
        const [sw, sh] = meta.inputScale;
        for (let k = 0; k < K; k++) {
          keypoints[2 * k] = (keypoints[2 * k] / iw) * sw + cx - 0.5 * sw;
          keypoints[2 * k + 1] = (keypoints[2 * k + 1] / ih) * sh + cy - 0.5 * sh;
        }
        const pred: PosePrediction = { keypoints, scores };
        if (this.testCfg.outputHeatmaps) pred.heatmaps = torch.tidy(() => heatmaps.select(0, i).clone());
        return pred;
      }).slice(0, n);
    } finally {
      heatmaps.dispose();
    }
  }
}

/**
 * mmpose's flip_heatmaps (flip_mode 'heatmap'): heatmaps of the flipped image [N, K, h, w] → flipped back
 * horizontally, channels swapped by flipIndices, and with shift, moved one column right (column 0 kept),
 * which realigns pixel centres after the flip.
 */
export function flipHeatmaps(heatmaps: Tensor, flipIndices: number[], shift: boolean): Tensor {
  const K = heatmaps.shape[1];
  if (flipIndices.length !== K) throw new Error(`flipHeatmaps: flipIndices has ${flipIndices.length} entries for ${K} heatmaps`);
  return torch.tidy(() => {
    const idx = torch.tensor(flipIndices, { dtype: 'int64', device: heatmaps.device });
    const f = heatmaps.flip([3]).indexSelect(1, idx);
    if (!shift) return f;
    const W = f.shape[3];
    return torch.cat([f.narrow(3, 0, 1), f.narrow(3, 0, W - 1)], 3);
  });
}
