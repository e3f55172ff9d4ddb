/**
 * Two-stage detectors (Faster R-CNN, Fast R-CNN, Mask R-CNN) and the RPN alone, as MMDetection
 * composes them: backbone → neck → rpn_head (proposals) → roi_head (boxes).
 *
 *   loss(batch)    → loss terms (RPN + RoI head)
 *   predict(batch) → detections per image, in original-image pixels
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { Module, type LoadStateDictOptions, type LoadStateDictResult, type StateDictSource } from '../../nn';
import type { ResNet } from '../backbones/resnet';
import type { FPN } from '../necks/fpn';
import type { ProposalConfig, Proposals, RPNHead, RPNTrainConfig } from '../dense_heads/rpn_head';
import type { RCNNTestConfig, RCNNTrainConfig, StandardRoIHead } from '../roi_heads/standard_roi_head';
import type { DetBatch, DetImageMeta, DetInstances, LossDict } from './types';

export interface TwoStageTrainConfig {
  rpn?: RPNTrainConfig;
  /** How proposals for the RoI head are made during training. */
  rpnProposal?: ProposalConfig;
  rcnn?: RCNNTrainConfig;
}

export interface TwoStageTestConfig {
  rpn?: ProposalConfig;
  rcnn?: RCNNTestConfig;
}

export interface TwoStageDetectorParts {
  backbone: ResNet;
  neck: FPN;
  /** Absent for Fast R-CNN (proposals come with the batch). */
  rpnHead?: RPNHead;
  /** Absent for the RPN detector (it outputs proposals). */
  roiHead?: StandardRoIHead;
  trainCfg: TwoStageTrainConfig;
  testCfg: TwoStageTestConfig;
  /**
   * The batch's size divisor (the data preprocessor's): gives each image's pad shape, where
   * training anchors stop being valid, when the batch metas do not carry it. Default 1.
   */
  padSizeDivisor?: number;
  /**
   * When predictions go back to original-image pixels: 'before-nms' as MMDetection
   * (rescale, then the size filter and NMS; the default) or 'after-nms' as torchvision.
   */
  rescale?: 'before-nms' | 'after-nms';
}

/** Boxes [K, 4] in resized pixels → original pixels (÷ scaleFactor; torchvision's order: after NMS). */
export function rescaleBoxes(boxes: Tensor, meta: DetImageMeta): Tensor {
  const [sx, sy] = meta.scaleFactor;
  return torch.tidy(() => boxes.div(torch.tensor([sx, sy, sx, sy], { device: boxes.device })));
}

export class TwoStageDetector extends Module {
  readonly backbone: ResNet;
  readonly neck: FPN;
  readonly rpnHead?: RPNHead;
  readonly roiHead?: StandardRoIHead;
  readonly trainCfg: TwoStageTrainConfig;
  readonly testCfg: TwoStageTestConfig;
  readonly padSizeDivisor: number;
  readonly rescale: 'before-nms' | 'after-nms';

  constructor(parts: TwoStageDetectorParts) {
    super();
    this.backbone = this.registerModule('backbone', parts.backbone);
    this.neck = this.registerModule('neck', parts.neck);
    if (parts.rpnHead) this.rpnHead = this.registerModule('rpn_head', parts.rpnHead);
    if (parts.roiHead) this.roiHead = this.registerModule('roi_head', parts.roiHead);
    this.trainCfg = parts.trainCfg;
    this.testCfg = parts.testCfg;
    this.padSizeDivisor = parts.padSizeDivisor ?? 1;
    this.rescale = parts.rescale ?? 'before-nms';
  }

  /**
   * Strict loading accepts both layouts of an RPN checkpoint: `rpn_head.*` (MMDetection 2.x,
   * two-stage detectors) and `bbox_head.*` (MMDetection 3.x saves its RPN detector's head
   * so): when the source has `bbox_head.*` keys and no `rpn_head.*` key, they load into the
   * RPN head, as MMDetection's own _load_from_state_dict does. Faster R-CNN's RoI head keys
   * are `roi_head.bbox_head.*` and are not affected.
   */
  override loadStateDict(source: StateDictSource, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    if (!this.rpnHead) return super.loadStateDict(source, opts);
    const keys = source instanceof Map ? [...source.keys()] : Object.keys(source);
    const mapped = opts.keyMap ? keys.map(opts.keyMap) : keys;
    const has = (prefix: string) => mapped.some((k) => k !== null && k.startsWith(prefix));
    if (!has('bbox_head.') || has('rpn_head.')) return super.loadStateDict(source, opts);
    const inner = opts.keyMap;
    const keyMap = (key: string): string | null => {
      const k = inner ? inner(key) : key;
      return k !== null && k.startsWith('bbox_head.') ? `rpn_head.${k.slice('bbox_head.'.length)}` : k;
    };
    return super.loadStateDict(source, { ...opts, keyMap });
  }

  /** Metas with each image's pad shape (MMDetection's pad_shape): the loader's Pad gives it; batches built from tensors get imgShape rounded up to the divisor. */
  private withPadShapes(metas: DetImageMeta[]): DetImageMeta[] {
    const d = this.padSizeDivisor;
    return metas.map((m) => m.padShape ? m : {
      ...m, padShape: [Math.ceil(m.imgShape[0] / d) * d, Math.ceil(m.imgShape[1] / d) * d] as [number, number],
    });
  }

  extractFeat(images: Tensor): Tensor[] {
    return torch.tidy(() => this.neck.forward(this.backbone.forward(images)));
  }

  private padShape(batch: DetBatch): [number, number] {
    const [h, w] = batch.images.shape.slice(2);
    return [h, w];
  }

  loss(batch: DetBatch): LossDict {
    if (!batch.targets) throw new Error(`${this.constructor.name}.loss: the batch has no targets`);
    const targets = batch.targets;
    return torch.tidy(() => {
      const feats = this.extractFeat(batch.images);
      let losses: LossDict = {};
      let proposals: Tensor[];
      if (this.rpnHead) {
        const outs = this.rpnHead.forward(feats);
        const anchors = this.rpnHead.levelAnchors(feats, this.padShape(batch));
        const metas = this.withPadShapes(batch.metas);
        losses = { ...this.rpnHead.loss(outs, anchors, metas, targets, this.need(this.trainCfg.rpn, 'trainCfg.rpn')) };
        if (!this.roiHead) return losses;
        proposals = this.rpnHead.predict(outs, anchors, batch.metas, this.need(this.trainCfg.rpnProposal, 'trainCfg.rpnProposal')).map((p) => p.boxes);
      } else {
        proposals = this.need(batch.proposals, 'batch.proposals (Fast R-CNN needs precomputed proposals)');
      }
      const roi = this.need(this.roiHead, 'roiHead').loss(feats, proposals, targets, this.need(this.trainCfg.rcnn, 'trainCfg.rcnn'));
      return { ...losses, ...roi };
    });
  }

  /**
   * RPN proposals per image, in resized-image pixels (as the RoI head takes them), or with
   * `rescale` in original-image pixels, rescaled before NMS (the RPN detector's output).
   */
  predictProposals(batch: DetBatch, feats?: Tensor[], rescale = false): Proposals[] {
    const rpn = this.need(this.rpnHead, 'rpnHead');
    return torch.noGrad(() => torch.tidy(() => {
      const f = feats ?? this.extractFeat(batch.images);
      const outs = rpn.forward(f);
      const anchors = rpn.levelAnchors(f, this.padShape(batch));
      return rpn.predict(outs, anchors, batch.metas, this.need(this.testCfg.rpn, 'testCfg.rpn'), rescale);
    }));
  }

  /**
   * Detections per image in original-image pixels. The RPN detector returns its
   * proposals as class-0 detections scored by objectness.
   */
  predict(batch: DetBatch): DetInstances[] {
    const before = this.rescale === 'before-nms';
    return torch.noGrad(() => torch.tidy(() => {
      const feats = this.extractFeat(batch.images);
      let proposals: Tensor[];
      if (this.rpnHead) {
        if (!this.roiHead) {
          return this.predictProposals(batch, feats, before).map((p, i) => ({
            boxes: before ? p.boxes : rescaleBoxes(p.boxes, batch.metas[i]),
            scores: p.scores,
            labels: torch.zeros([p.scores.size(0)], { dtype: 'int64' }),
          }));
        }
        proposals = this.predictProposals(batch, feats).map((p) => p.boxes);
      } else {
        proposals = this.need(batch.proposals, 'batch.proposals (Fast R-CNN needs precomputed proposals)');
      }
      const roiHead = this.need(this.roiHead, 'roiHead');
      // a mask branch rescales its detections itself (after NMS, before pasting into the original image)
      const done = before || roiHead.withMask;
      const dets = roiHead.predict(feats, proposals, batch.metas, this.need(this.testCfg.rcnn, 'testCfg.rcnn'), done);
      return done ? dets : dets.map((d, i) => ({ ...d, boxes: rescaleBoxes(d.boxes, batch.metas[i]) }));
    }));
  }

  private need<T>(v: T | undefined, what: string): T {
    if (v === undefined) throw new Error(`${this.constructor.name}: ${what} is not configured`);
    return v;
  }
}
