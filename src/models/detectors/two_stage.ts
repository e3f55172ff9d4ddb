/**
 * Two-stage detectors (Faster R-CNN, Fast R-CNN) and the RPN alone, as MMDetection
 * composes them: backbone → neck → rpn_head (proposals) → roi_head (boxes).
 *
 *   loss(batch)    → loss terms (RPN + RoI head)
 *   predict(batch) → detections per image, in original-image pixels
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { Module } from '../../nn';
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
}

/** Boxes [K, 4] in resized pixels → original pixels. */
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

  constructor(parts: TwoStageDetectorParts) {
    super();
    this.backbone = this.registerModule('backbone', parts.backbone);
    this.neck = this.registerModule('neck', parts.neck);
    if (parts.rpnHead) this.rpnHead = this.registerModule('rpn_head', parts.rpnHead);
    if (parts.roiHead) this.roiHead = this.registerModule('roi_head', parts.roiHead);
    this.trainCfg = parts.trainCfg;
    this.testCfg = parts.testCfg;
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
        losses = { ...this.rpnHead.loss(outs, anchors, batch.metas, targets, this.need(this.trainCfg.rpn, 'trainCfg.rpn')) };
        if (!this.roiHead) return losses;
        proposals = this.rpnHead.predict(outs, anchors, batch.metas, this.need(this.trainCfg.rpnProposal, 'trainCfg.rpnProposal')).map((p) => p.boxes);
      } else {
        proposals = this.need(batch.proposals, 'batch.proposals (Fast R-CNN needs precomputed proposals)');
      }
      const roi = this.need(this.roiHead, 'roiHead').loss(feats, proposals, targets, this.need(this.trainCfg.rcnn, 'trainCfg.rcnn'));
      return { ...losses, ...roi };
    });
  }

  /** RPN proposals per image in resized-image pixels (the RPN detector's output). */
  predictProposals(batch: DetBatch, feats?: Tensor[]): Proposals[] {
    const rpn = this.need(this.rpnHead, 'rpnHead');
    return torch.noGrad(() => torch.tidy(() => {
      const f = feats ?? this.extractFeat(batch.images);
      const outs = rpn.forward(f);
      const anchors = rpn.levelAnchors(f, this.padShape(batch));
      return rpn.predict(outs, anchors, batch.metas, this.need(this.testCfg.rpn, 'testCfg.rpn'));
    }));
  }

  /**
   * Detections per image in original-image pixels. The RPN detector returns its
   * proposals as class-0 detections scored by objectness.
   */
  predict(batch: DetBatch): DetInstances[] {
    return torch.noGrad(() => torch.tidy(() => {
      const feats = this.extractFeat(batch.images);
      let proposals: Tensor[];
      if (this.rpnHead) {
        const props = this.predictProposals(batch, feats);
        if (!this.roiHead) {
          return props.map((p, i) => ({
            boxes: rescaleBoxes(p.boxes, batch.metas[i]), scores: p.scores, labels: torch.zeros([p.scores.size(0)], { dtype: 'int64' }),
          }));
        }
        proposals = props.map((p) => p.boxes);
      } else {
        proposals = this.need(batch.proposals, 'batch.proposals (Fast R-CNN needs precomputed proposals)');
      }
      const dets = this.need(this.roiHead, 'roiHead').predict(feats, proposals, batch.metas, this.need(this.testCfg.rcnn, 'testCfg.rcnn'));
      return dets.map((d, i) => ({ ...d, boxes: rescaleBoxes(d.boxes, batch.metas[i]) }));
    }));
  }

  private need<T>(v: T | undefined, what: string): T {
    if (v === undefined) throw new Error(`${this.constructor.name}: ${what} is not configured`);
    return v;
  }
}
