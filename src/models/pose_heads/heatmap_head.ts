/**
 * MMPose 1.x's HeatmapHead: the last backbone feature → optional stride-2 deconvolutions (SimpleBaseline,
 * Xiao et al. 2018) → optional convs → a final conv to one heatmap per keypoint. HRNet's head is the same class
 * with no deconvolution and a 1×1 conv on the highest-resolution branch.
 *
 * Shapes: N instances (person crops), K keypoints, feature [N, C, h', w'] → heatmaps [N, K, h, w].
 * Parameter names are mmpose's: deconv_layers.{3i, 3i+1}.* (ConvTranspose2d, BN), conv_layers.{3i, 3i+1}.*,
 * final_layer.*.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { BatchNorm2d, Conv2d, ConvTranspose2d, Module, ReLU, Sequential, init } from '../../nn';
import { KeypointMSELoss, type KeypointMSELossConfig } from '../losses/keypoint_mse';
import { getHeatmapMaximum } from '../codecs/heatmap_utils';

export interface HeatmapHeadOptions {
  /** Channels of the feature the head reads (the backbone's last output). */
  inChannels: number;
  /** Heatmaps out: the number of keypoints K. */
  outChannels: number;
  /** Output channels of each stride-2 deconvolution (mmpose default [256, 256, 256]; [] or null: none). */
  deconvOutChannels?: number[] | null;
  /** Kernel of each deconvolution: 4 (padding 1), 3 (padding 1, output padding 1) or 2 (padding 0). */
  deconvKernelSizes?: number[] | null;
  /** Output channels of each conv after the deconvolutions (none by default). */
  convOutChannels?: number[] | null;
  /** Kernel of each such conv (odd; padding (k−1)/2). */
  convKernelSizes?: number[] | null;
  /** Kernel of the final conv (mmpose's final_layer.kernel_size, 1). */
  finalKernelSize?: number;
  loss?: KeypointMSELossConfig;
  /** Config key for errors ('model.head'). */
  key?: string;
}

/** The head's training targets, batched. */
export interface HeatmapTargets {
  /** [N, K, h, w] target heatmaps (the codec's encode). */
  heatmaps: Tensor;
  /** [N, K] keypoint weights. */
  keypointWeights: Tensor;
}

export class HeatmapHead extends Module {
  readonly deconvLayers: Sequential | null;
  readonly convLayers: Sequential | null;
  readonly finalLayer: Conv2d;
  readonly lossModule: KeypointMSELoss;
  readonly outChannels: number;

  constructor(o: HeatmapHeadOptions) {
    super();
    const key = o.key ?? 'head';
    this.outChannels = o.outChannels;
    let c = o.inChannels;
    const deconv = o.deconvOutChannels ?? [];
    const deconvK = o.deconvKernelSizes ?? [];
    if (deconv.length && deconvK.length !== deconv.length) {
      throw new Error(`${key}.deconvKernelSizes: needs one kernel per deconvOutChannels entry (${deconv.length}), got ${JSON.stringify(o.deconvKernelSizes)}`);
    }
    this.deconvLayers = null;
    if (deconv.length) {
      const layers = new Sequential();
      deconv.forEach((out, i) => {
        const k = deconvK[i];
        const [padding, outputPadding] = k === 4 ? [1, 0] : k === 3 ? [1, 1] : k === 2 ? [0, 0] : [-1, -1];
        if (padding < 0) throw new Error(`${key}.deconvKernelSizes[${i}]: unsupported kernel ${k} (4, 3 or 2)`);
        layers.append(new ConvTranspose2d(c, out, k, { stride: 2, padding, outputPadding, bias: false }));
        layers.append(new BatchNorm2d(out));
        layers.append(new ReLU(true));
        c = out;
      });
      this.deconvLayers = this.registerModule('deconv_layers', layers);
    }
    const conv = o.convOutChannels ?? [];
    const convK = o.convKernelSizes ?? [];
    if (conv.length && convK.length !== conv.length) {
      throw new Error(`${key}.convKernelSizes: needs one kernel per convOutChannels entry (${conv.length}), got ${JSON.stringify(o.convKernelSizes)}`);
    }
    this.convLayers = null;
    if (conv.length) {
      const layers = new Sequential();
      conv.forEach((out, i) => {
        layers.append(new Conv2d(c, out, convK[i], { padding: Math.floor((convK[i] - 1) / 2) }));
        layers.append(new BatchNorm2d(out));
        layers.append(new ReLU(true));
        c = out;
      });
      this.convLayers = this.registerModule('conv_layers', layers);
    }
    const fk = o.finalKernelSize ?? 1;
    this.finalLayer = this.registerModule('final_layer', new Conv2d(c, o.outChannels, fk, { padding: Math.floor((fk - 1) / 2) }));
    this.lossModule = new KeypointMSELoss(o.loss ?? { useTargetWeight: true });
    this.initWeights();
  }

  /** mmpose's default init_cfg: Conv2d / ConvTranspose2d weights N(0, 0.001²), bias 0; BN weight 1, bias 0. */
  initWeights(): void {
    torch.noGrad(() => {
      for (const m of this.modules()) {
        if (m instanceof Conv2d || m instanceof ConvTranspose2d) init.normalInit(m, { std: 0.001 });
        else if (m instanceof BatchNorm2d) init.constantInit(m, 1, 0);
      }
    });
  }

  /** feats (one per backbone output) → heatmaps [N, K, h, w] from the last one. */
  forward(feats: Tensor[]): Tensor {
    return torch.tidy(() => {
      let x = feats[feats.length - 1];
      if (this.deconvLayers) x = this.deconvLayers.forward(x);
      if (this.convLayers) x = this.convLayers.forward(x);
      return this.finalLayer.forward(x);
    });
  }

  /** loss_kpt (KeypointMSELoss) and acc_pose (mmpose's pose_pck_accuracy, not differentiable). */
  loss(feats: Tensor[], targets: HeatmapTargets, opts: { computeAcc?: boolean } = {}): Record<string, Tensor> {
    return torch.tidy(() => {
      const pred = this.forward(feats);
      const out: Record<string, Tensor> = { loss_kpt: this.lossModule.forward(pred, targets.heatmaps, targets.keypointWeights) };
      if (opts.computeAcc ?? true) out.acc_pose = torch.scalarTensor(posePckAccuracy(pred, targets.heatmaps, targets.keypointWeights), { device: pred.device });
      return out;
    });
  }
}

/**
 * mmpose's pose_pck_accuracy (thr 0.05): per keypoint the fraction of instances (weight > 0) whose predicted
 * heatmap maximum lies within 0.05 of the target's, distances divided by [h, w] as mmpose's (x by h, y by w);
 * the mean over keypoints that have any. pred, target [N, K, h, w], weights [N, K].
 */
export function posePckAccuracy(pred: Tensor, target: Tensor, weights: Tensor, thr = 0.05): number {
  const [n, k, h, w] = pred.shape;
  const host = (x: Tensor) => torch.tidy(() => x.detach().to('cpu').to('float32').contiguous().toTypedArray() as Float32Array);
  const p = host(pred), t = host(target), m = host(weights);
  const hm = (data: Float32Array) => getHeatmapMaximum({ data, K: n * k, H: h, W: w }).keypoints;
  const pk = hm(p), tk = hm(t);
  let sum = 0, cnt = 0;
  for (let j = 0; j < k; j++) {
    let valid = 0, hit = 0;
    for (let i = 0; i < n; i++) {
      const q = i * k + j;
      if (!(m[q] > 0)) continue;
      valid++;
      const d = Math.hypot((pk[2 * q] - tk[2 * q]) / h, (pk[2 * q + 1] - tk[2 * q + 1]) / w);
      if (d < thr) hit++;
    }
    if (valid > 0) {
      sum += hit / valid;
      cnt++;
    }
  }
  return cnt > 0 ? sum / cnt : 0;
}
