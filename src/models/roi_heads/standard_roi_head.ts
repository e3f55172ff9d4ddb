/**
 * The second stage of Fast/Faster R-CNN: RoI feature extraction from FPN levels,
 * the Shared2FC box head, and its training targets and inference post-processing
 * (MMDetection's SingleRoIExtractor, Shared2FCBBoxHead and StandardRoIHead).
 *
 * Shape shorthand: R RoIs in the batch, rois [R, 5] (image index, x1, y1, x2, y2) in
 * resized-image pixels; C classes; roi features [R, F, S, S] (S = roiSize).
 * Box head names: shared_fcs.{0,1}, fc_cls [C+1 outputs], fc_reg [4C outputs].
 * With a mask branch (Mask R-CNN): a second extractor (mask_roi_extractor) and mask_head
 * (FCNMaskHead, see fcn_mask_head.ts), trained on the sampled positives and run on the detections.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { Linear, Module, ModuleList, init } from '../../nn';
import { DeltaXYWHBBoxCoder, type DeltaXYWHCoderOptions } from '../task_modules/bbox_coder';
import { MaxIoUAssigner, type MaxIoUAssignerOptions } from '../task_modules/assigner';
import { RandomSampler, type RandomSamplerOptions } from '../task_modules/sampler';
import type { DetImageMeta, DetInstances, DetTargets, LossDict } from '../detectors/types';
import { deltaBoxLoss, type BoxLossConfig } from '../losses/box_loss';
import { batchedNms } from '../layers/batched_nms';
import { rescaleToOriginal } from '../layers/rescale';
import { maskTargets, type FCNMaskHead } from './fcn_mask_head';

export interface RoIExtractorOptions {
  /** RoIAlign output size S. */
  outputSize: number;
  /** Sampling points per bin (≤ 0: adaptive). */
  samplingRatio: number;
  /** Half-pixel offset (MMCV's RoIAlign default true; torchvision's MultiScaleRoIAlign false). */
  aligned: boolean;
  featmapStrides: number[];
  /**
   * Level of a box of scale s = √(wh): floor(log2(s / finestScale + eps)) clamped to the
   * levels (MMDetection: finestScale 56). torchvision's LevelMapper (224 at level 4,
   * levels 2..5) is the same mapping with its eps inside: set canonical.
   */
  finestScale?: number;
  canonical?: { scale: number; level: number; kMin: number };
}

/** Maps each RoI to an FPN level and pools it there with RoIAlign. */
export class SingleRoIExtractor {
  constructor(readonly opts: RoIExtractorOptions) {}

  /** Level index per RoI ([R] int64). */
  mapRoiLevels(rois: Tensor, numLevels: number): Tensor {
    return torch.tidy(() => {
      const scale = rois.select(1, 3).sub(rois.select(1, 1)).mul(rois.select(1, 4).sub(rois.select(1, 2))).sqrt();
      const c = this.opts.canonical;
      const lvl = c
        ? scale.div(c.scale).add(1e-6).log2().add(c.level).floor().sub(c.kMin)
        : scale.div(this.opts.finestScale ?? 56).add(1e-6).log2().floor();
      return lvl.clamp({ min: 0, max: numLevels - 1 }).long();
    });
  }

  /** feats: the first numLevels FPN maps; rois [R, 5] → [R, F, S, S]. */
  forward(feats: Tensor[], rois: Tensor): Tensor {
    return torch.tidy(() => {
      const n = this.opts.featmapStrides.length;
      const s = this.opts.outputSize;
      const out = torch.zeros([rois.size(0), feats[0].size(1), s, s], { device: rois.device });
      if (rois.size(0) === 0) return out;
      const levels = this.mapRoiLevels(rois, n);
      for (let l = 0; l < n; l++) {
        const inds = levels.eq(l).nonzero().view(-1);
        if (inds.size(0) === 0) continue;
        const pooled = torch.ops.roiAlign(feats[l], rois.index([inds]), {
          outputSize: s, spatialScale: 1 / this.opts.featmapStrides[l], samplingRatio: this.opts.samplingRatio, aligned: this.opts.aligned,
        });
        out.indexPut_([inds], pooled); // in place: no copy of the whole output per level
      }
      return out;
    });
  }
}

export interface BBoxHeadOptions {
  inChannels: number;
  roiSize: number;
  fcOutChannels?: number;
  numClasses: number;
  /** Background is class 0 with C+1 regressions (torchvision) instead of last with C (MMDetection). */
  backgroundFirst?: boolean;
  coder?: DeltaXYWHCoderOptions;
  lossClsWeight?: number;
  /** Box loss (MMDetection's loss_bbox); default L1 on deltas, weight 1. GIoULoss regresses decoded boxes. */
  lossBbox?: BoxLossConfig;
}

/** Two shared fully connected layers, then classification and class-wise box regression. */
export class Shared2FCBBoxHead extends Module {
  readonly sharedFcs: ModuleList<Linear>;
  readonly fcCls: Linear;
  readonly fcReg: Linear;
  readonly numClasses: number;
  readonly backgroundFirst: boolean;
  readonly coder: DeltaXYWHBBoxCoder;
  readonly lossClsWeight: number;
  readonly lossBbox: BoxLossConfig;

  constructor(opts: BBoxHeadOptions) {
    super();
    const fc = opts.fcOutChannels ?? 1024;
    this.numClasses = opts.numClasses;
    this.backgroundFirst = opts.backgroundFirst ?? false;
    this.sharedFcs = this.registerModule('shared_fcs', new ModuleList([
      new Linear(opts.inChannels * opts.roiSize * opts.roiSize, fc),
      new Linear(fc, fc),
    ]));
    this.fcCls = this.registerModule('fc_cls', new Linear(fc, opts.numClasses + 1));
    const numReg = this.backgroundFirst ? opts.numClasses + 1 : opts.numClasses;
    this.fcReg = this.registerModule('fc_reg', new Linear(fc, numReg * 4));
    for (const l of this.sharedFcs) init.xavierInit(l, { distribution: 'uniform' });
    init.normalInit(this.fcCls, { std: 0.01 });
    init.normalInit(this.fcReg, { std: 0.001 });
    this.coder = new DeltaXYWHBBoxCoder(opts.coder ?? { stds: [0.1, 0.1, 0.2, 0.2] });
    this.lossClsWeight = opts.lossClsWeight ?? 1;
    this.lossBbox = opts.lossBbox ?? { type: 'L1Loss' };
  }

  /** roiFeats [R, F, S, S] → class logits [R, C+1], deltas [R, 4C] (or 4(C+1)). */
  forward(roiFeats: Tensor): { clsScore: Tensor; bboxPred: Tensor } {
    return torch.tidy(() => {
      let x = roiFeats.flatten(1);
      for (const fc of this.sharedFcs) x = fc.forward(x).relu_();
      return { clsScore: this.fcCls.forward(x), bboxPred: this.fcReg.forward(x) };
    });
  }

  /** Column of the background logit, and the logit column of class c (0-based). */
  get backgroundIndex(): number {
    return this.backgroundFirst ? 0 : this.numClasses;
  }
}

export interface RCNNTestConfig {
  scoreThr: number;
  iouThreshold: number;
  maxPerImg: number;
  /** Drop boxes with width or height below this (torchvision: 1e-2); < 0 keeps all. */
  minBboxSize?: number;
  /** Box count from which NMS runs class by class (MMCV's nms split_thr, default 10000). */
  nmsSplitThr?: number;
  /** Mask branch: threshold of the pasted mask probabilities (mmdet's mask_thr_binary; default 0.5). */
  maskThrBinary?: number;
}

export interface RCNNTrainConfig {
  assigner: MaxIoUAssignerOptions;
  sampler: RandomSamplerOptions;
  /** Mask branch: side of the mask targets (mmdet's mask_size; default 28). @asType integer @minimum 1 */
  maskSize?: number;
}

/** rois [R, 5] from per-image boxes [Ri, 4]. */
export function boxesToRois(boxes: Tensor[]): Tensor {
  return torch.tidy(() => torch.cat(boxes.map((b, i) => torch.cat([torch.full([b.size(0), 1], i, { device: b.device }), b], 1))));
}

/** The optional mask branch of a StandardRoIHead (MMDetection's mask_roi_extractor + mask_head). */
export interface MaskBranch {
  extractor: SingleRoIExtractor;
  head: FCNMaskHead;
}

export class StandardRoIHead extends Module {
  readonly bboxHead: Shared2FCBBoxHead;
  readonly maskExtractor?: SingleRoIExtractor;
  readonly maskHead?: FCNMaskHead;

  constructor(readonly extractor: SingleRoIExtractor, bboxHead: Shared2FCBBoxHead, mask?: MaskBranch) {
    super();
    this.bboxHead = this.registerModule('bbox_head', bboxHead);
    if (mask) {
      this.maskExtractor = mask.extractor;
      this.maskHead = this.registerModule('mask_head', mask.head);
    }
  }

  get withMask(): boolean {
    return this.maskHead !== undefined;
  }

  /** Mask logits [R, C, 2S, 2S] of rois [R, 5]. */
  private maskForward(feats: Tensor[], rois: Tensor): Tensor {
    const ex = this.maskExtractor!;
    return this.maskHead!.forward(ex.forward(feats.slice(0, ex.opts.featmapStrides.length), rois));
  }

  private get numLevels(): number {
    return this.extractor.opts.featmapStrides.length;
  }

  /**
   * Classification (softmax CE) and box regression (lossBbox, L1 by default) losses on sampled
   * proposals; with a mask branch also loss_mask on the sampled positives (targets need masks).
   */
  loss(feats: Tensor[], proposals: Tensor[], targets: DetTargets[], cfg: RCNNTrainConfig): LossDict {
    return torch.tidy(() => {
      const assigner = new MaxIoUAssigner(cfg.assigner);
      const sampler = new RandomSampler(cfg.sampler);
      const head = this.bboxHead;
      const samples: Tensor[] = [];
      const labels: Tensor[] = [];
      const posMask: Tensor[] = [];
      const posPriors: Tensor[] = [];
      const posGtBoxes: Tensor[] = [];
      const maskRois: Tensor[] = [];
      const maskTgts: Tensor[] = [];
      const maskLabels: Tensor[] = [];
      proposals.forEach((props, i) => {
        const t = targets[i];
        const assign = assigner.assign(props, t.boxes, t.labels, t.ignoreBoxes);
        const res = sampler.sample(assign, props, t.boxes, t.labels);
        const nPos = res.posInds.size(0);
        const nNeg = res.negInds.size(0);
        samples.push(torch.cat([res.posPriors, res.negPriors]));
        const posLabels = head.backgroundFirst ? res.posGtLabels.add(1) : res.posGtLabels;
        labels.push(posLabels, torch.full([nNeg], head.backgroundIndex, { dtype: 'int64' }));
        posMask.push(torch.ones([nPos], { dtype: 'bool' }), torch.zeros([nNeg], { dtype: 'bool' }));
        if (nPos > 0) {
          posPriors.push(res.posPriors);
          posGtBoxes.push(res.posGtBoxes);
        }
        if (this.maskHead) {
          const masks = t.masks;
          if (!masks) throw new Error(`StandardRoIHead.loss: image ${i} has no gt masks (a mask branch needs targets.masks)`);
          if (masks.size(0) !== t.boxes.size(0)) throw new Error(`StandardRoIHead.loss: image ${i} has ${masks.size(0)} gt masks for ${t.boxes.size(0)} boxes`);
          maskRois.push(res.posPriors);
          maskTgts.push(maskTargets(res.posPriors, res.posAssignedGtInds, masks, cfg.maskSize ?? 28, this.maskHead.maskTarget));
          maskLabels.push(res.posGtLabels);
        }
      });
      const rois = boxesToRois(samples);
      const { clsScore, bboxPred } = head.forward(this.extractor.forward(feats.slice(0, this.numLevels), rois));
      const allLabels = torch.cat(labels);
      const isPos = torch.cat(posMask);
      const n = allLabels.size(0);
      const lossCls = torch.F.crossEntropy(clsScore, allLabels, { reduction: 'sum' }).div(Math.max(n, 1)).mul(head.lossClsWeight);
      let lossBbox: Tensor;
      const posIdx = isPos.nonzero().view(-1);
      if (posIdx.size(0) > 0) {
        const posLabels = allLabels.index([posIdx]);
        const predPos = bboxPred.view(n, -1, 4).index([posIdx, posLabels]);
        lossBbox = deltaBoxLoss(head.lossBbox, head.coder, torch.cat(posPriors), predPos, torch.cat(posGtBoxes)).div(Math.max(n, 1));
      } else {
        lossBbox = bboxPred.sum().mul(0);
      }
      const acc = torch.noGrad(() => clsScore.argmax({ dim: 1 }).eq(allLabels).float().mean().mul(100));
      const out: LossDict = { loss_cls: lossCls, loss_bbox: lossBbox, acc: acc.detach() };
      if (this.maskHead) {
        const preds = this.maskForward(feats, boxesToRois(maskRois));
        out.loss_mask = this.maskHead.loss(preds, torch.cat(maskTgts), torch.cat(maskLabels));
      }
      return out;
    });
  }

  /**
   * Detections per image (MMDetection's StandardRoIHead.predict): softmax scores, boxes
   * decoded and clipped to the image, with `rescale` mapped to original-image pixels
   * (× 1 / scaleFactor) before the class-wise NMS; otherwise in resized-image pixels.
   * With a mask branch, as mmdet: NMS on resized-pixel boxes, mask RoIs from them, then
   * predict_mask's paste; with `rescale` the boxes are divided by scaleFactor after NMS and
   * the masks pasted into the original image, otherwise into round(original × scale).
   */
  predict(feats: Tensor[], proposals: Tensor[], metas: DetImageMeta[], cfg: RCNNTestConfig, rescale = false): DetInstances[] {
    if (this.maskHead) return this.predictWithMasks(feats, proposals, metas, cfg, rescale);
    return this.predictBoxes(feats, proposals, metas, cfg, rescale);
  }

  private predictWithMasks(feats: Tensor[], proposals: Tensor[], metas: DetImageMeta[], cfg: RCNNTestConfig, rescale: boolean): DetInstances[] {
    return torch.noGrad(() => torch.tidy(() => {
      const dets = this.predictBoxes(feats, proposals, metas, cfg, false);
      const head = this.maskHead!;
      const counts = dets.map((d) => d.boxes.size(0));
      const total = counts.reduce((a, b) => a + b, 0);
      const preds = total > 0 ? this.maskForward(feats, boxesToRois(dets.map((d) => d.boxes))).split(counts) : counts.map(() => null);
      const thr = { maskThrBinary: cfg.maskThrBinary ?? 0.5 };
      return dets.map((d, i) => {
        const m = metas[i];
        const [sx, sy] = rescale ? m.scaleFactor : [1, 1];
        const shape: [number, number] = rescale ? m.oriShape : [Math.round(m.oriShape[0] * m.scaleFactor[1]), Math.round(m.oriShape[1] * m.scaleFactor[0])];
        const p = preds[i] ?? torch.zeros([0, head.numClasses, 1, 1]);
        const r = head.predictMasks(p, d.boxes, d.labels, [sx, sy], shape, thr);
        return { ...d, boxes: r.boxes, masks: r.masks };
      });
    }));
  }

  private predictBoxes(feats: Tensor[], proposals: Tensor[], metas: DetImageMeta[], cfg: RCNNTestConfig, rescale: boolean): DetInstances[] {
    return torch.noGrad(() => torch.tidy(() => {
      const head = this.bboxHead;
      const rois = boxesToRois(proposals);
      const { clsScore, bboxPred } = head.forward(this.extractor.forward(feats.slice(0, this.numLevels), rois));
      const counts = proposals.map((p) => p.size(0));
      const scoresPer = clsScore.softmax(-1).split(counts);
      const deltasPer = bboxPred.split(counts);
      return metas.map((meta, i) => {
        const boxes = head.coder.decode(proposals[i], deltasPer[i], meta.imgShape);
        return multiclassNms(rescale ? rescaleToOriginal(boxes, meta) : boxes, scoresPer[i], head.numClasses, head.backgroundFirst, cfg);
      });
    }));
  }
}

/**
 * Class-wise NMS over decoded boxes [R, 4C'] and class probabilities [R, C+1]
 * (MMDetection's multiclass_nms; torchvision's postprocess_detections when
 * backgroundFirst and minBboxSize are set).
 */
export function multiclassNms(boxes: Tensor, scores: Tensor, numClasses: number, backgroundFirst: boolean, cfg: RCNNTestConfig): DetInstances {
  return torch.tidy(() => {
    const r = scores.size(0);
    let b = boxes.view(r, -1, 4);
    if (b.size(1) === 1) b = b.expand(r, numClasses, 4);
    else if (backgroundFirst) b = b.slice(1, 1);
    const s = backgroundFirst ? scores.slice(1, 1) : scores.slice(1, 0, numClasses);
    const labels = torch.arange(numClasses).view(1, -1).expand(r, numClasses).reshape(-1);
    let flatBoxes = b.reshape(-1, 4);
    let flatScores = s.reshape(-1);
    let flatLabels = labels;
    let keepMask = flatScores.gt(cfg.scoreThr);
    if ((cfg.minBboxSize ?? -1) >= 0) {
      const w = flatBoxes.select(1, 2).sub(flatBoxes.select(1, 0));
      const h = flatBoxes.select(1, 3).sub(flatBoxes.select(1, 1));
      keepMask = keepMask.logicalAnd(w.ge(cfg.minBboxSize!)).logicalAnd(h.ge(cfg.minBboxSize!));
    }
    const inds = keepMask.nonzero().view(-1);
    flatBoxes = flatBoxes.index([inds]);
    flatScores = flatScores.index([inds]);
    flatLabels = flatLabels.index([inds]);
    const keep = batchedNms(flatBoxes, flatScores, flatLabels, { iouThreshold: cfg.iouThreshold, splitThr: cfg.nmsSplitThr })
      .slice(0, 0, cfg.maxPerImg);
    return { boxes: flatBoxes.index([keep]), scores: flatScores.index([keep]), labels: flatLabels.index([keep]) };
  });
}
