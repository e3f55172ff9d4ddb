/**
 * RetinaNet head (Lin et al., 2017, "Focal Loss for Dense Object Detection"), as MMDetection's
 * RetinaHead (an AnchorHead with sigmoid focal loss).
 *
 * Shape shorthand: N images, L levels, A anchors per location (9: 3 ratios × 3 octave scales),
 * C classes, Hl×Wl level sizes, P = Σ Hl·Wl·A anchors of an image (ordered level, y, x, a).
 * forward: feats [N, F, Hl, Wl] per level → class logits [N, A·C, Hl, Wl] and deltas
 * [N, 4A, Hl, Wl] per level. Names: cls_convs.{i}.conv, reg_convs.{i}.conv, retina_cls,
 * retina_reg (MMDetection's checkpoint layout under bbox_head.).
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { Conv2d, ConvModule, Module, ModuleList, init, type NormConfig } from '../../nn';
import { AnchorGenerator, type AnchorGeneratorOptions } from '../task_modules/anchor_generator';
import { DeltaXYWHBBoxCoder, type DeltaXYWHCoderOptions } from '../task_modules/bbox_coder';
import { MaxIoUAssigner, type MaxIoUAssignerOptions } from '../task_modules/assigner';
import { PseudoSampler } from '../task_modules/sampler';
import type { DetImageMeta, DetInstances, DetTargets, LossDict } from '../detectors/types';
import { deltaBoxLoss, type BoxLossConfig } from '../losses/box_loss';
import { sigmoidFocalLoss, type FocalLossConfig } from '../losses/focal_loss';
import { batchedNms } from '../layers/batched_nms';
import { rescaleToOriginal } from '../layers/rescale';
import { imageAnchorTargets } from './anchor_targets';

/** float32 epsilon MMDetection adds to avg_factor (weight_reduce_loss). */
const AVG_EPS = 1.1920928955078125e-7;

export interface RetinaHeadOptions {
  /** Object classes (sigmoid outputs, no background channel). */
  numClasses: number;
  inChannels: number;
  /** Channels of the stacked convs (default 256). */
  featChannels?: number;
  /** 3×3 conv + ReLU layers in each tower before the classifier / regressor (default 4). */
  stackedConvs?: number;
  /**
   * Normalization in the towers' ConvModules (MMDetection's RetinaHead norm_cfg, default none:
   * the convs then have biases; with a norm they have none and the norm is `cls_convs.i.gn`).
   */
  normCfg?: NormConfig | null;
  /** MMDetection's RetinaNet: octaveBaseScale 4, scalesPerOctave 3, ratios 0.5/1/2, strides 8..128. */
  anchor: AnchorGeneratorOptions;
  /** Delta coder (default means 0, stds 1). */
  coder?: DeltaXYWHCoderOptions;
  /** Focal loss (default γ 2, α 0.25, weight 1). */
  lossCls?: FocalLossConfig;
  /** Box loss on deltas (default L1, weight 1). */
  lossBbox?: BoxLossConfig;
  /** Prior probability the classifier's bias starts at (default 0.01). */
  priorProb?: number;
  /** Anchor strides per level = padded batch size // feature size (torchvision), not anchor.strides. */
  strideFromFeatureSize?: boolean;
}

/** MMDetection's retinanet train_cfg (the sampler is the PseudoSampler: every anchor counts). */
export interface DenseTrainConfig {
  assigner: MaxIoUAssignerOptions;
  /** Anchors crossing the image border by more than this are ignored; -1 keeps all (valid flags only). */
  allowedBorder: number;
}

/** MMDetection's test_cfg of a dense head. */
export interface DenseTestConfig {
  /** Best (anchor, class) scores kept per level before NMS (−1: all). */
  nmsPre: number;
  /** Scores must be above this. */
  scoreThr: number;
  /** Class-wise NMS IoU threshold. */
  iouThreshold: number;
  /** Detections kept per image. */
  maxPerImg: number;
  /** Drop boxes whose width or height is not above this (original pixels; < 0: no filter). */
  minBboxSize: number;
  /** Box count from which NMS runs class by class (MMCV's nms split_thr, default 10000). */
  nmsSplitThr?: number;
  /** Rescale boxes to original pixels after NMS (torchvision's transform.postprocess), not before (default false). */
  rescaleAfterNms?: boolean;
}

export interface DenseHeadOutputs {
  clsScores: Tensor[]; // [N, A·C, Hl, Wl] per level
  bboxPreds: Tensor[]; // [N, 4A, Hl, Wl] per level
}

/**
 * A float32 logit strictly below logit(p), so that x > it for every x whose sigmoid exceeds p
 * (the margin covers float32 rounding of the sigmoid near p); -Infinity for p <= 0.
 */
function logitBelow(p: number): number {
  if (!(p > 0)) return -Infinity;
  if (p >= 1) return Infinity;
  const l = Math.log(p / (1 - p));
  return l - 1e-3 * Math.max(1, Math.abs(l));
}

export class RetinaHead extends Module {
  readonly numClasses: number;
  readonly clsConvs: ModuleList<ConvModule>;
  readonly regConvs: ModuleList<ConvModule>;
  readonly retinaCls: Conv2d;
  readonly retinaReg: Conv2d;
  readonly anchors: AnchorGenerator;
  readonly coder: DeltaXYWHBBoxCoder;
  private readonly lossCls: FocalLossConfig;
  private readonly lossBbox: BoxLossConfig;
  private readonly strideFromFeatureSize: boolean;

  constructor(opts: RetinaHeadOptions) {
    super();
    if (!(Number.isInteger(opts.numClasses) && opts.numClasses >= 1)) {
      throw new Error(`model.bboxHead.numClasses: expected a positive integer, got ${opts.numClasses}`);
    }
    const stacked = opts.stackedConvs ?? 4;
    if (!(Number.isInteger(stacked) && stacked >= 0)) throw new Error(`model.bboxHead.stackedConvs: expected an integer ≥ 0, got ${stacked}`);
    const priorProb = opts.priorProb ?? 0.01;
    if (!(priorProb > 0 && priorProb < 1)) throw new Error(`model.bboxHead.priorProb: expected a probability in (0, 1), got ${priorProb}`);
    this.numClasses = opts.numClasses;
    this.anchors = new AnchorGenerator(opts.anchor);
    const a = this.anchors.numBaseAnchors;
    const feat = opts.featChannels ?? 256;
    const tower = () => Array.from({ length: stacked }, (_, i) => new ConvModule(i === 0 ? opts.inChannels : feat, feat, 3, { padding: 1, normCfg: opts.normCfg ?? null }));
    this.clsConvs = this.registerModule('cls_convs', new ModuleList(tower()));
    this.regConvs = this.registerModule('reg_convs', new ModuleList(tower()));
    const last = stacked > 0 ? feat : opts.inChannels;
    this.retinaCls = this.registerModule('retina_cls', new Conv2d(last, a * this.numClasses, 3, { padding: 1 }));
    this.retinaReg = this.registerModule('retina_reg', new Conv2d(last, a * 4, 3, { padding: 1 }));
    // MMDetection's init_cfg: Normal(std 0.01) on every Conv2d (the ConvModules' own kaiming init does
    // not run: they sit in plain ModuleLists), retina_cls's bias at the prior probability.
    for (const m of this.modules()) if (m instanceof Conv2d) init.normalInit(m, { std: 0.01 });
    init.normalInit(this.retinaCls, { std: 0.01, bias: init.biasInitWithProb(priorProb) });
    this.coder = new DeltaXYWHBBoxCoder(opts.coder);
    this.lossCls = opts.lossCls ?? {};
    this.lossBbox = opts.lossBbox ?? { type: 'L1Loss' };
    this.strideFromFeatureSize = opts.strideFromFeatureSize ?? false;
  }

  forward(feats: Tensor[]): DenseHeadOutputs {
    return torch.tidy(() => {
      const clsScores: Tensor[] = [];
      const bboxPreds: Tensor[] = [];
      for (const f of feats) {
        let c = f;
        for (const conv of this.clsConvs) c = conv.forward(c);
        let r = f;
        for (const conv of this.regConvs) r = conv.forward(r);
        clsScores.push(this.retinaCls.forward(c));
        bboxPreds.push(this.retinaReg.forward(r));
      }
      return { clsScores, bboxPreds };
    });
  }

  /**
   * Anchors of every level for these feature maps ([Hl·Wl·A, 4] each, input-image pixels);
   * `batchShape` (the padded batch [H, W]) is required with strideFromFeatureSize.
   */
  levelAnchors(feats: Tensor[], batchShape?: [number, number]): Tensor[] {
    if (feats.length !== this.anchors.numLevels) {
      throw new Error(`RetinaHead: ${feats.length} feature levels, the anchor generator has ${this.anchors.numLevels} strides`);
    }
    return feats.map((f, level) => {
      const [h, w] = f.shape.slice(2);
      if (this.strideFromFeatureSize) {
        if (!batchShape) throw new Error('RetinaHead: strideFromFeatureSize needs the padded batch shape');
        return this.anchors.singleLevelGridAnchors(level, h, w, Math.floor(batchShape[0] / h), Math.floor(batchShape[1] / w), f.device);
      }
      const s = this.anchors.strides[level];
      return this.anchors.singleLevelGridAnchors(level, h, w, s, s, f.device);
    });
  }

  /**
   * Focal loss over every valid anchor that is positive or negative (PseudoSampler; ignored
   * anchors have weight 0) and the box loss over positives, both divided by Σ over images of
   * max(#positives, 1) (+ float32 eps), as MMDetection's AnchorHead.loss_by_feat.
   */
  loss(feats: Tensor[], metas: DetImageMeta[], targets: DetTargets[], cfg: DenseTrainConfig, batchShape?: [number, number]): LossDict {
    return torch.tidy(() => {
      const outs = this.forward(feats);
      const anchors = this.levelAnchors(feats, batchShape);
      const allAnchors = torch.cat(anchors);
      const assigner = new MaxIoUAssigner(cfg.assigner);
      const sampler = new PseudoSampler();
      const c = this.numClasses;
      const logits: Tensor[] = [];
      const labels: Tensor[] = [];
      const deltas: Tensor[] = [];
      const posPriors: Tensor[] = [];
      const posGtBoxes: Tensor[] = [];
      let avgFactor = 0;
      metas.forEach((meta, i) => {
        const { clsFlat, regFlat, pos, neg, sampling: res } = imageAnchorTargets(outs, i, c, this.anchors, anchors, allAnchors, meta, targets[i], assigner, sampler, cfg.allowedBorder);
        logits.push(clsFlat.index([pos]), clsFlat.index([neg]));
        // background is class index C, dropped from the one-hot targets below
        labels.push(res.posGtLabels, torch.full([neg.size(0)], c, { dtype: 'int64' }));
        avgFactor += Math.max(pos.size(0), 1);
        if (pos.size(0) > 0) {
          deltas.push(regFlat.index([pos]));
          posPriors.push(res.posPriors);
          posGtBoxes.push(res.posGtBoxes);
        }
      });
      const avg = avgFactor + AVG_EPS;
      const targetsOneHot = torch.F.oneHot(torch.cat(labels), c + 1).slice(1, 0, c);
      const lossCls = sigmoidFocalLoss(torch.cat(logits), targetsOneHot, this.lossCls).sum().div(avg).mul(this.lossCls.lossWeight ?? 1);
      const lossBbox = deltas.length > 0
        ? deltaBoxLoss(this.lossBbox, this.coder, torch.cat(posPriors), torch.cat(deltas), torch.cat(posGtBoxes)).div(avg)
        : outs.bboxPreds.map((b) => b.sum()).reduce((x, y) => x.add(y)).mul(0);
      return { loss_cls: lossCls, loss_bbox: lossBbox };
    });
  }

  /**
   * Detections per image (no gradient), as MMDetection's _predict_by_feat_single and
   * _bbox_post_process: per level, sigmoid scores of every (anchor, class) above scoreThr, the
   * nmsPre best of them (sorted); decode clipped to the image; with `rescale` into
   * original-image pixels; the size filter; class-wise NMS (MMCV's batched_nms); the maxPerImg best.
   */
  predict(feats: Tensor[], metas: DetImageMeta[], cfg: DenseTestConfig, rescale = true, batchShape?: [number, number]): DetInstances[] {
    return torch.noGrad(() => torch.tidy(() => {
      const outs = this.forward(feats);
      const anchors = this.levelAnchors(feats, batchShape);
      const c = this.numClasses;
      return metas.map((meta, i) => torch.tidy(() => {
        const scores: Tensor[] = [];
        const labels: Tensor[] = [];
        const deltas: Tensor[] = [];
        const priors: Tensor[] = [];
        outs.clsScores.forEach((cls, level) => {
          // [H, W, A·C] view, row-major over (anchor, class) as MMDetection's scores[valid_mask]. The
          // level's logits are screened in logit space (one pass, no copy, no sigmoid of every score):
          // candidates are a superset of sigmoid(x) > scoreThr, which is then applied exactly to them.
          const v = cls.select(0, i).permute(1, 2, 0);
          const [fh, fw, ac] = v.shape;
          const cand = v.gt(logitBelow(cfg.scoreThr));
          const pos = cand.nonzero(); // [K, 3] (y, x, anchor·C + class)
          let s = v.index([cand]).sigmoid();
          const exact = s.gt(cfg.scoreThr);
          const flat = pos.select(1, 0).mul(fw).add(pos.select(1, 1)).mul(ac).add(pos.select(1, 2)).index([exact]); // (anchor, class) flat
          s = s.index([exact]);
          const ranked = s.sort({ descending: true });
          const k = cfg.nmsPre >= 0 ? Math.min(cfg.nmsPre, flat.size(0)) : flat.size(0);
          const top = flat.index([ranked.indices.slice(0, 0, k)]);
          const keep = top.div(c, { roundingMode: 'floor' });
          scores.push(ranked.values.slice(0, 0, k));
          labels.push(top.remainder(c));
          deltas.push(outs.bboxPreds[level].select(0, i).permute(1, 2, 0).reshape(-1, 4).index([keep]));
          priors.push(anchors[level].index([keep]));
        });
        let s = torch.cat(scores);
        let l = torch.cat(labels);
        let boxes = this.coder.decode(torch.cat(priors), torch.cat(deltas), meta.imgShape);
        const after = cfg.rescaleAfterNms ?? false;
        if (rescale && !after) boxes = rescaleToOriginal(boxes, meta);
        if (cfg.minBboxSize >= 0 && boxes.size(0) > 0) {
          const w = boxes.select(1, 2).sub(boxes.select(1, 0));
          const h = boxes.select(1, 3).sub(boxes.select(1, 1));
          const ok = w.gt(cfg.minBboxSize).logicalAnd(h.gt(cfg.minBboxSize));
          if (!ok.all().item()) {
            boxes = boxes.index([ok]);
            s = s.index([ok]);
            l = l.index([ok]);
          }
        }
        if (boxes.size(0) === 0) return { boxes, scores: s, labels: l };
        const keep = batchedNms(boxes, s, l, { iouThreshold: cfg.iouThreshold, splitThr: cfg.nmsSplitThr }).slice(0, 0, cfg.maxPerImg);
        const kept = boxes.index([keep]);
        return { boxes: rescale && after ? rescaleToOriginal(kept, meta) : kept, scores: s.index([keep]), labels: l.index([keep]) };
      }));
    }));
  }
}
