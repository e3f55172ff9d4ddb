/**
 * Single-stage detectors (RetinaNet), as MMDetection's SingleStageDetector:
 * backbone → neck → bbox_head (dense predictions, NMS).
 *
 *   loss(batch)    → the head's loss terms
 *   predict(batch) → detections per image, in original-image pixels
 *
 * Parameter names are MMDetection's: backbone.*, neck.*, bbox_head.*.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { Module } from '../../nn';
import type { ResNet } from '../backbones/resnet';
import type { FPN } from '../necks/fpn';
import type { DenseTestConfig, DenseTrainConfig, RetinaHead } from '../dense_heads/retina_head';
import type { DetBatch, DetImageMeta, DetInstances, Detector, LossDict } from './types';

export interface SingleStageDetectorParts {
  backbone: ResNet;
  neck: FPN;
  bboxHead: RetinaHead;
  trainCfg: DenseTrainConfig;
  testCfg: DenseTestConfig;
  /** The batch's size divisor (the data preprocessor's): each image's pad shape when the metas lack it. Default 1. */
  padSizeDivisor?: number;
}

/** Metas with each image's pad shape (MMDetection's pad_shape): imgShape rounded up to the divisor where absent. */
export function metasWithPadShapes(metas: DetImageMeta[], divisor: number): DetImageMeta[] {
  return metas.map((m) => m.padShape ? m : {
    ...m, padShape: [Math.ceil(m.imgShape[0] / divisor) * divisor, Math.ceil(m.imgShape[1] / divisor) * divisor] as [number, number],
  });
}

export class SingleStageDetector extends Module implements Detector {
  readonly backbone: ResNet;
  readonly neck: FPN;
  readonly bboxHead: RetinaHead;
  readonly trainCfg: DenseTrainConfig;
  readonly testCfg: DenseTestConfig;
  readonly padSizeDivisor: number;

  constructor(parts: SingleStageDetectorParts) {
    super();
    this.backbone = this.registerModule('backbone', parts.backbone);
    this.neck = this.registerModule('neck', parts.neck);
    this.bboxHead = this.registerModule('bbox_head', parts.bboxHead);
    this.trainCfg = parts.trainCfg;
    this.testCfg = parts.testCfg;
    this.padSizeDivisor = parts.padSizeDivisor ?? 1;
  }

  extractFeat(images: Tensor): Tensor[] {
    return torch.tidy(() => this.neck.forward(this.backbone.forward(images)));
  }

  loss(batch: DetBatch): LossDict {
    if (!batch.targets) throw new Error(`${this.constructor.name}.loss: the batch has no targets`);
    const targets = batch.targets;
    return torch.tidy(() => this.bboxHead.loss(this.extractFeat(batch.images), metasWithPadShapes(batch.metas, this.padSizeDivisor), targets, this.trainCfg, batch.images.shape.slice(2) as [number, number]));
  }

  predict(batch: DetBatch): DetInstances[] {
    return torch.noGrad(() => torch.tidy(() => this.bboxHead.predict(this.extractFeat(batch.images), batch.metas, this.testCfg, true, batch.images.shape.slice(2) as [number, number])));
  }
}
