/**
 * Region Proposal Network head (Ren et al., 2015), as MMDetection's RPNHead.
 *
 * Shape shorthand: N images, L levels, A anchors per location, Hl×Wl level sizes,
 * P = Σ Hl·Wl·A anchors of an image (ordered level, y, x, a).
 * forward: feats [N, C, Hl, Wl] per level → objectness logits [N, A, Hl, Wl] and
 * deltas [N, 4A, Hl, Wl] per level. Names: rpn_conv, rpn_cls, rpn_reg.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { Conv2d, Module, init } from '../../nn';
import { AnchorGenerator, type AnchorGeneratorOptions } from '../task_modules/anchor_generator';
import { DeltaXYWHBBoxCoder, type DeltaXYWHCoderOptions } from '../task_modules/bbox_coder';
import { MaxIoUAssigner, type MaxIoUAssignerOptions } from '../task_modules/assigner';
import { RandomSampler, type RandomSamplerOptions } from '../task_modules/sampler';
import type { DetImageMeta, DetTargets, LossDict } from '../detectors/types';
import { deltaBoxLoss, type BoxLossConfig } from '../losses/box_loss';
import { batchedNms } from '../layers/batched_nms';
import { rescaleToOriginal } from '../layers/rescale';
import { imageAnchorTargets } from './anchor_targets';

/** How proposals are made from the head's outputs (MMDetection's rpn test_cfg / rpn_proposal). */
export interface ProposalConfig {
  /** Top-scoring anchors kept per level before NMS. */
  nmsPre: number;
  /** Proposals kept per image after NMS. */
  maxPerImg: number;
  /** NMS IoU threshold. */
  iouThreshold: number;
  /** Drop boxes whose width or height is not above this (pixels). */
  minBboxSize: number;
  /**
   * Keep boxes whose width and height equal minBboxSize too (torchvision's
   * remove_small_boxes keeps w, h >= min_size; MMDetection keeps > min).
   */
  minBboxSizeInclusive?: boolean;
  /**
   * Take the nmsPre best per level by logit, then the sigmoid (torchvision), instead of the
   * sigmoid then a sort of the scores (MMDetection); they differ where the sigmoid rounds
   * distinct logits to one float32 score.
   */
  topkOnLogits?: boolean;
  /** Box count from which NMS runs level by level (MMCV's nms split_thr, default 10000). */
  nmsSplitThr?: number;
}

export interface RPNTrainConfig {
  assigner: MaxIoUAssignerOptions;
  sampler: RandomSamplerOptions;
  /** Anchors crossing the image border by more than this are ignored; -1 keeps all. */
  allowedBorder: number;
}

export interface RPNHeadOptions {
  inChannels: number;
  featChannels?: number;
  anchor: AnchorGeneratorOptions;
  coder?: DeltaXYWHCoderOptions;
  /** Derive level strides from padded image size // feature size (torchvision's AnchorGenerator). */
  strideFromFeatureSize?: boolean;
  lossClsWeight?: number;
  /** Box loss (MMDetection's loss_bbox); default L1 on deltas, weight 1. GIoULoss regresses decoded boxes. */
  lossBbox?: BoxLossConfig;
}

/** Proposals of one image: boxes [K, 4] in resized-image pixels, scores [K]. */
export interface Proposals {
  boxes: Tensor;
  scores: Tensor;
}

export class RPNHead extends Module {
  readonly rpnConv: Conv2d;
  readonly rpnCls: Conv2d;
  readonly rpnReg: Conv2d;
  readonly anchors: AnchorGenerator;
  readonly coder: DeltaXYWHBBoxCoder;
  private readonly strideFromFeatureSize: boolean;
  private readonly lossClsWeight: number;
  private readonly lossBbox: BoxLossConfig;

  constructor(opts: RPNHeadOptions) {
    super();
    this.anchors = new AnchorGenerator(opts.anchor);
    const a = this.anchors.numBaseAnchors;
    const feat = opts.featChannels ?? opts.inChannels;
    this.rpnConv = this.registerModule('rpn_conv', new Conv2d(opts.inChannels, feat, 3, { padding: 1 }));
    this.rpnCls = this.registerModule('rpn_cls', new Conv2d(feat, a, 1));
    this.rpnReg = this.registerModule('rpn_reg', new Conv2d(feat, a * 4, 1));
    for (const conv of [this.rpnConv, this.rpnCls, this.rpnReg]) init.normalInit(conv, { std: 0.01 });
    this.coder = new DeltaXYWHBBoxCoder(opts.coder);
    this.strideFromFeatureSize = opts.strideFromFeatureSize ?? false;
    this.lossClsWeight = opts.lossClsWeight ?? 1;
    this.lossBbox = opts.lossBbox ?? { type: 'L1Loss' };
  }

  forward(feats: Tensor[]): { clsScores: Tensor[]; bboxPreds: Tensor[] } {
    return torch.tidy(() => {
      const clsScores: Tensor[] = [];
      const bboxPreds: Tensor[] = [];
      for (const f of feats) {
        const x = this.rpnConv.forward(f).relu_();
        clsScores.push(this.rpnCls.forward(x));
        bboxPreds.push(this.rpnReg.forward(x));
      }
      return { clsScores, bboxPreds };
    });
  }

  /** Anchors of every level for this batch ([Hl·Wl·A, 4] each). */
  levelAnchors(feats: Tensor[], padShape: [number, number]): Tensor[] {
    return feats.map((f, level) => {
      const [h, w] = f.shape.slice(2);
      const [sy, sx] = this.strideFromFeatureSize
        ? [Math.floor(padShape[0] / h), Math.floor(padShape[1] / w)]
        : [this.anchors.strides[level], this.anchors.strides[level]];
      return this.anchors.singleLevelGridAnchors(level, h, w, sy, sx, f.device);
    });
  }

  /**
   * Proposals for each image (no gradient), as MMDetection's RPNHead._predict_by_feat_single
   * and _bbox_post_process: per level, objectness sigmoid and the nmsPre best (sorted by
   * score); decoding clipped to the image; with `rescale`, boxes into original-image pixels
   * (× 1 / scaleFactor) before the size filter and NMS; NMS per level (MMCV's batched_nms);
   * the maxPerImg best. Boxes are in resized-image pixels unless rescaled.
   */
  predict(outs: { clsScores: Tensor[]; bboxPreds: Tensor[] }, anchors: Tensor[], metas: DetImageMeta[], cfg: ProposalConfig, rescale = false): Proposals[] {
    return torch.noGrad(() => metas.map((meta, i) => torch.tidy(() => {
      const scores: Tensor[] = [];
      const deltas: Tensor[] = [];
      const priors: Tensor[] = [];
      const levelIds: Tensor[] = [];
      outs.clsScores.forEach((cls, level) => {
        let s = cls.select(0, i).permute(1, 2, 0).reshape(-1);
        let d = outs.bboxPreds[level].select(0, i).permute(1, 2, 0).reshape(-1, 4);
        let p = anchors[level];
        if (cfg.topkOnLogits) {
          // torchvision: top-k on the logits, then the sigmoid
          if (cfg.nmsPre > 0 && cfg.nmsPre < s.size(0)) {
            const top = s.topk(cfg.nmsPre);
            s = top.values;
            d = d.index([top.indices]);
            p = p.index([top.indices]);
          }
          s = s.sigmoid();
        } else {
          // MMDetection: sigmoid, then sort (ties between saturated scores resolved by the sort)
          s = s.sigmoid();
          if (cfg.nmsPre > 0 && cfg.nmsPre < s.size(0)) {
            const ranked = s.sort({ descending: true });
            const top = ranked.indices.slice(0, 0, cfg.nmsPre);
            s = ranked.values.slice(0, 0, cfg.nmsPre);
            d = d.index([top]);
            p = p.index([top]);
          }
        }
        scores.push(s);
        deltas.push(d);
        priors.push(p);
        levelIds.push(torch.full([s.size(0)], level, { dtype: 'int64' }));
      });
      let s = torch.cat(scores);
      let boxes = this.coder.decode(torch.cat(priors), torch.cat(deltas), meta.imgShape);
      let ids = torch.cat(levelIds);
      if (rescale) boxes = rescaleToOriginal(boxes, meta);
      if (cfg.minBboxSize >= 0) {
        const w = boxes.select(1, 2).sub(boxes.select(1, 0));
        const h = boxes.select(1, 3).sub(boxes.select(1, 1));
        const valid = cfg.minBboxSizeInclusive
          ? w.ge(cfg.minBboxSize).logicalAnd(h.ge(cfg.minBboxSize))
          : w.gt(cfg.minBboxSize).logicalAnd(h.gt(cfg.minBboxSize));
        if (!valid.all().item()) {
          boxes = boxes.index([valid]);
          s = s.index([valid]);
          ids = ids.index([valid]);
        }
      }
      if (boxes.size(0) === 0) return { boxes, scores: s };
      const keep = batchedNms(boxes, s, ids, { iouThreshold: cfg.iouThreshold, splitThr: cfg.nmsSplitThr })
        .slice(0, 0, cfg.maxPerImg);
      return { boxes: boxes.index([keep]), scores: s.index([keep]) };
    })));
  }

  /** Objectness (sigmoid BCE) and box (lossBbox, L1 by default) losses over sampled anchors. */
  loss(outs: { clsScores: Tensor[]; bboxPreds: Tensor[] }, anchors: Tensor[], metas: DetImageMeta[], targets: DetTargets[], cfg: RPNTrainConfig): LossDict {
    return torch.tidy(() => {
      const assigner = new MaxIoUAssigner(cfg.assigner);
      const sampler = new RandomSampler({ ...cfg.sampler, addGtAsProposals: cfg.sampler.addGtAsProposals ?? false });
      const allAnchors = torch.cat(anchors);
      const logits: Tensor[] = [];
      const logitTargets: Tensor[] = [];
      const deltas: Tensor[] = [];
      const posPriors: Tensor[] = [];
      const posGtBoxes: Tensor[] = [];
      let numSamples = 0;
      metas.forEach((meta, i) => {
        const { clsFlat, regFlat, pos, neg, sampling: res } = imageAnchorTargets(outs, i, 1, this.anchors, anchors, allAnchors, meta, targets[i], assigner, sampler, cfg.allowedBorder);
        logits.push(clsFlat.index([pos]).view(-1), clsFlat.index([neg]).view(-1));
        logitTargets.push(torch.ones([pos.size(0)]), torch.zeros([neg.size(0)]));
        numSamples += pos.size(0) + neg.size(0);
        if (pos.size(0) > 0) {
          deltas.push(regFlat.index([pos]));
          posPriors.push(res.posPriors);
          posGtBoxes.push(res.posGtBoxes);
        }
      });
      const avg = Math.max(numSamples, 1);
      const lossCls = torch.F.binaryCrossEntropyWithLogits(torch.cat(logits), torch.cat(logitTargets), { reduction: 'sum' }).div(avg).mul(this.lossClsWeight);
      const lossBbox = deltas.length > 0
        ? deltaBoxLoss(this.lossBbox, this.coder, torch.cat(posPriors), torch.cat(deltas), torch.cat(posGtBoxes)).div(avg)
        : outs.bboxPreds[0].sum().mul(0);
      return { loss_rpn_cls: lossCls, loss_rpn_bbox: lossBbox };
    });
  }
}
