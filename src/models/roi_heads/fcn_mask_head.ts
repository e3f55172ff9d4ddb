/**
 * Mask R-CNN's mask branch as MMDetection 3.3 builds it: FCNMaskHead (convs → 2× deconv →
 * class-specific 1×1 logits), its training targets (mmdet/structures/mask/mask_target.py:
 * gt bitmaps cropped and resized by RoIAlign to maskSize × maskSize, binarized at 0.5), its
 * loss (mask_cross_entropy: BCE-with-logits over the gt class's channel, mean) and its
 * inference (sigmoid, the label's channel, pasted into the image with _do_paste_mask).
 *
 * Parameter names are mmdet's: convs.{i}.conv.{weight,bias}, upsample.{weight,bias},
 * conv_logits.{weight,bias} (under roi_head.mask_head.* in a detector).
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { Conv2d, ConvModule, ConvTranspose2d, Module, ModuleList, init } from '../../nn';

export interface FCNMaskHeadOptions {
  /** Channels of the mask RoI features (the neck's). */
  inChannels: number;
  /** Number of 3×3 convs (mmdet: 4). @asType integer @minimum 0 */
  numConvs?: number;
  /** Channels of the convs and the deconv (mmdet: 256). @asType integer @minimum 1 */
  convOutChannels?: number;
  /** Object classes: one logit map each. @asType integer @minimum 1 */
  numClasses: number;
  /** mmdet's loss_mask.loss_weight (CrossEntropyLoss use_mask=True). */
  lossMaskWeight?: number;
  /**
   * A logit map for the background first (torchvision's mask_fcn_logits: numClasses + 1
   * outputs, class c at channel c + 1). Default false.
   */
  backgroundFirst?: boolean;
  /**
   * How mask targets are made: RoIAlign `aligned` and `samplingRatio` (0: adaptive), priors
   * clipped to the mask first (`clip`), `binarize` at 0.5. Default mmdet's
   * { aligned: true, samplingRatio: 0, clip: true, binarize: true }; torchvision's
   * project_masks_on_boxes: { aligned: false, samplingRatio: 0, clip: false, binarize: false }.
   */
  maskTarget?: { aligned?: boolean; samplingRatio?: number; clip?: boolean; binarize?: boolean };
  /**
   * How masks are pasted into the image: 'mmdet' (_do_paste_mask, thresholded at
   * maskThrBinary → bool) or 'torchvision' (paste_masks_in_image: float probabilities, boxes
   * rescaled as transform.postprocess). Default 'mmdet'.
   */
  paste?: 'mmdet' | 'torchvision';
}

export interface MaskTrainConfig {
  /** Side of the mask targets (mmdet's train_cfg.rcnn.mask_size). @asType integer @minimum 1 */
  maskSize: number;
}

export interface MaskTestConfig {
  /** Threshold of the pasted probabilities (mmdet's test_cfg.rcnn.mask_thr_binary). */
  maskThrBinary: number;
}

export class FCNMaskHead extends Module {
  readonly convs: ModuleList<ConvModule>;
  readonly upsample: ConvTranspose2d;
  readonly convLogits: Conv2d;
  readonly numClasses: number;
  readonly lossMaskWeight: number;
  readonly backgroundFirst: boolean;
  readonly maskTarget: Required<NonNullable<FCNMaskHeadOptions['maskTarget']>>;
  readonly paste: 'mmdet' | 'torchvision';

  constructor(opts: FCNMaskHeadOptions) {
    super();
    const n = opts.numConvs ?? 4;
    const c = opts.convOutChannels ?? 256;
    if (!Number.isInteger(n) || n < 0) throw new Error(`roiHead.maskHead.numConvs: a non-negative integer, got ${n}`);
    if (!Number.isInteger(opts.numClasses) || opts.numClasses < 1) throw new Error(`roiHead.maskHead.numClasses: a positive integer, got ${opts.numClasses}`);
    this.numClasses = opts.numClasses;
    this.lossMaskWeight = opts.lossMaskWeight ?? 1;
    this.backgroundFirst = opts.backgroundFirst ?? false;
    this.maskTarget = { aligned: true, samplingRatio: 0, clip: true, binarize: true, ...opts.maskTarget };
    this.paste = opts.paste ?? 'mmdet';
    if (this.paste !== 'mmdet' && this.paste !== 'torchvision') throw new Error(`roiHead.maskHead.paste: 'mmdet' or 'torchvision', got ${String(this.paste)}`);
    const convs: ConvModule[] = [];
    for (let i = 0; i < n; i++) convs.push(new ConvModule(i === 0 ? opts.inChannels : c, c, 3, { padding: 1 }));
    this.convs = this.registerModule('convs', new ModuleList(convs));
    this.upsample = this.registerModule('upsample', new ConvTranspose2d(n > 0 ? c : opts.inChannels, c, 2, { stride: 2 }));
    this.convLogits = this.registerModule('conv_logits', new Conv2d(c, opts.numClasses + (this.backgroundFirst ? 1 : 0), 1));
    // mmdet's FCNMaskHead.init_weights: kaiming normal (fan_out, relu), zero bias
    for (const m of [this.upsample, this.convLogits]) init.kaimingInit(m);
  }

  /** Mask RoI features [R, F, S, S] → logits [R, C, 2S, 2S]. */
  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      let y = x;
      for (const conv of this.convs) y = conv.forward(y);
      return this.convLogits.forward(this.upsample.forward(y).relu());
    });
  }

  /** mmdet's mask_cross_entropy: BCE-with-logits of each RoI's gt-class channel against its target, mean over all pixels. */
  loss(maskPreds: Tensor, maskTargets: Tensor, labels: Tensor): Tensor {
    return torch.tidy(() => {
      const r = maskPreds.size(0);
      if (r === 0) return maskPreds.sum();
      const slice = maskPreds.index([torch.arange(r, { device: maskPreds.device }), this.backgroundFirst ? labels.add(1) : labels]);
      return torch.F.binaryCrossEntropyWithLogits(slice, maskTargets, { reduction: 'mean' }).mul(this.lossMaskWeight);
    });
  }

  /**
   * Pasted masks of one image (mmdet's _predict_by_feat_single with rescale): sigmoid, the
   * label's channel, boxes [K, 4] (resized pixels) ÷ scaleFactor, pasted one by one into an
   * oriH × oriW canvas, ≥ threshold → bool [K, oriH, oriW]. Returns the rescaled boxes too
   * (mmdet rescales its results' boxes in place here).
   */
  predictMasks(maskPreds: Tensor, boxes: Tensor, labels: Tensor, scaleFactor: [number, number], oriShape: [number, number], cfg: MaskTestConfig): { masks: Tensor; boxes: Tensor } {
    return torch.tidy(() => {
      const k = boxes.size(0);
      const [sx, sy] = scaleFactor;
      const tv = this.paste === 'torchvision';
      // torchvision's resize_boxes: × float32(original / resized)
      const rescaled = tv ? boxes.mul(torch.tensor([1 / sx, 1 / sy, 1 / sx, 1 / sy], { device: boxes.device }))
        : boxes.div(torch.tensor([sx, sy, sx, sy], { device: boxes.device }));
      const [h, w] = oriShape;
      if (k === 0) return { masks: torch.zeros([0, h, w], { dtype: tv ? 'float32' : 'bool', device: boxes.device }), boxes: rescaled };
      const channel = this.backgroundFirst ? labels.add(1) : labels;
      const probs = maskPreds.sigmoid().index([torch.arange(k, { device: maskPreds.device }), channel]).unsqueeze(1);
      return { masks: tv ? pasteMasksTorchvision(probs, rescaled, h, w) : pasteMasks(probs, rescaled, h, w, cfg.maskThrBinary), boxes: rescaled };
    });
  }
}

/**
 * mmdet's mask_target for one image: for each positive prior [P, 4] (resized pixels) and
 * its assigned gt index, the gt mask ([G, H, W], the padded image's size) inside the prior
 * (clipped to the mask's W × H), RoIAlign'ed (aligned, adaptive sampling, scale 1) to
 * size × size and binarized at ≥ 0.5 → float32 [P, size, size]. The RoIs index the gt
 * masks directly (mmdet copies each RoI's mask first: same values, less memory).
 */
export function maskTargets(posPriors: Tensor, posAssignedGtInds: Tensor, gtMasks: Tensor, size: number, opts: FCNMaskHeadOptions['maskTarget'] = {}): Tensor {
  const o = { aligned: true, samplingRatio: 0, clip: true, binarize: true, ...opts };
  return torch.tidy(() => {
    const p = posPriors.size(0);
    if (p === 0) return torch.zeros([0, size, size], { device: posPriors.device });
    if (gtMasks.dim() !== 3) throw new Error(`maskTargets: gt masks must be [G, H, W], got [${gtMasks.shape.join(', ')}]`);
    const [h, w] = gtMasks.shape.slice(1);
    const lim = torch.tensor([w, h, w, h], { device: posPriors.device });
    const boxes = o.clip ? posPriors.clamp({ min: 0 }).minimum(lim) : posPriors;
    const rois = torch.cat([posAssignedGtInds.float().unsqueeze(1), boxes], 1);
    const t = torch.ops.roiAlign(gtMasks.float().unsqueeze(1), rois, { outputSize: size, spatialScale: 1, samplingRatio: o.samplingRatio, aligned: o.aligned }).squeeze(1);
    return o.binarize ? t.ge(0.5).float() : t;
  });
}

/**
 * mmdet's _do_paste_mask on CPU, box by box with skip_empty: mask probabilities [K, 1, M, M]
 * are sampled (grid_sample, bilinear, zero padding, align_corners false) at the centres of the
 * image pixels in [floor(x1) − 1, ceil(x2) + 1) × [floor(y1) − 1, ceil(y2) + 1) (clipped to the
 * image), mapped to the box's [−1, 1] range; the rest of each canvas stays empty. Result:
 * [K, h, w] bool (value ≥ thr), or float32 probabilities when thr < 0.
 */
export function pasteMasks(masks: Tensor, boxes: Tensor, h: number, w: number, thr: number): Tensor {
  return torch.tidy(() => {
    const k = boxes.size(0);
    const b = boxes.toTypedArray() as Float32Array;
    const out = torch.zeros([k, h, w], { dtype: thr >= 0 ? 'bool' : 'float32', device: masks.device });
    for (let i = 0; i < k; i++) {
      torch.tidy(() => {
        const [x1, y1, x2, y2] = b.subarray(4 * i, 4 * i + 4);
        const x0i = Math.max(Math.floor(x1) - 1, 0);
        const y0i = Math.max(Math.floor(y1) - 1, 0);
        const x1i = Math.min(Math.ceil(x2) + 1, w);
        const y1i = Math.min(Math.ceil(y2) + 1, h);
        if (x1i <= x0i || y1i <= y0i) return;
        const box = boxes.slice(0, i, i + 1);
        const [bx1, by1, bx2, by2] = box.split(1, 1);
        // float32 as mmdet: (arange + 0.5 − x0) / (x1 − x0) · 2 − 1; an infinite coordinate (empty box) → 0
        const norm = (lo: number, hi: number, a: Tensor, z: Tensor) => {
          const v = torch.arange(lo, hi, 1, { device: masks.device }).float().add(0.5).unsqueeze(0).sub(a).div(z.sub(a)).mul(2).sub(1);
          return torch.where(v.abs().eq(Infinity), 0, v);
        };
        const gx = norm(x0i, x1i, bx1, bx2);
        const gy = norm(y0i, y1i, by1, by2);
        const nh = y1i - y0i, nw = x1i - x0i;
        const grid = torch.stack([gx.unsqueeze(1).expand(1, nh, nw), gy.unsqueeze(2).expand(1, nh, nw)], 3);
        const pasted = torch.F.gridSample(masks.slice(0, i, i + 1).float(), grid, { alignCorners: false }).select(1, 0).select(0, 0);
        const v = thr >= 0 ? pasted.ge(thr) : pasted;
        out.select(0, i).slice(0, y0i, y1i).slice(1, x0i, x1i).copy_(v);
      });
    }
    return out;
  });
}

/**
 * torchvision's paste_masks_in_image (roi_heads.py): mask probabilities [K, 1, M, M] padded
 * by 1 (expand_masks), boxes [K, 4] expanded by (M + 2) / M about their centres
 * (expand_boxes) and truncated to integers, each mask resized (bilinear, align_corners
 * false) to the integer box's (x2 − x1 + 1) × (y2 − y1 + 1) and pasted, clipped to the
 * image, into an h × w canvas → float32 probabilities [K, h, w].
 */
export function pasteMasksTorchvision(masks: Tensor, boxes: Tensor, h: number, w: number): Tensor {
  return torch.tidy(() => {
    const k = boxes.size(0);
    const m = masks.size(-1);
    const padded = torch.F.pad(masks.float(), [1, 1, 1, 1]);
    const scale = (m + 2) / m;
    const [x1, y1, x2, y2] = boxes.unbind(1);
    const wHalf = x2.sub(x1).mul(0.5).mul(scale), hHalf = y2.sub(y1).mul(0.5).mul(scale);
    const xc = x2.add(x1).mul(0.5), yc = y2.add(y1).mul(0.5);
    const ib = torch.stack([xc.sub(wHalf), yc.sub(hHalf), xc.add(wHalf), yc.add(hHalf)], 1).to('int64').toArray() as unknown as (number | bigint)[];
    const out = torch.zeros([k, h, w], { device: masks.device });
    for (let i = 0; i < k; i++) {
      torch.tidy(() => {
        const [bx0, by0, bx1, by1] = ib.slice(4 * i, 4 * i + 4).map(Number);
        const bw = Math.max(bx1 - bx0 + 1, 1), bh = Math.max(by1 - by0 + 1, 1);
        const x0 = Math.max(bx0, 0), x1c = Math.min(bx1 + 1, w), y0 = Math.max(by0, 0), y1c = Math.min(by1 + 1, h);
        if (x1c <= x0 || y1c <= y0) return;
        const r = torch.F.interpolate(padded.slice(0, i, i + 1), { size: [bh, bw], mode: 'bilinear', alignCorners: false }).select(0, 0).select(0, 0);
        out.select(0, i).slice(0, y0, y1c).slice(1, x0, x1c).copy_(r.slice(0, y0 - by0, y1c - by0).slice(1, x0 - bx0, x1c - bx0));
      });
    }
    return out;
  });
}
