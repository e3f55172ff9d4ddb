// TEMPORARY: replaced by the models branch at merge.
//
// A stand-in for the real `buildSegmentor` (EncoderDecoder with ResNetV1c / HRNet and the decode
// heads, written on the models branch) so that the segmentation task, its CLI and its tests compile
// and run before the merge. It honours the Segmentor contract only: a small conv "backbone" at
// stride 4, a 1x1 classifier to decodeHead.numClasses logits, bilinear upsampling to the input,
// cross-entropy with ignore index 255 under mmseg's key `decode.loss_ce`; predictions are resized
// to each image's original size. It ignores every other field of the config.
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { Conv2d, ConvModule, Module } from '../../nn';
import type { SegmentorModelConfig } from './config';
import type { SegBatch, SegLossDict, SegPrediction, Segmentor } from './types';

class StandInBackbone extends Module {
  readonly stem = this.registerModule('stem', new ConvModule(3, 16, 3, { stride: 2, padding: 1, normCfg: { type: 'BN' } }));
  readonly layer = this.registerModule('layer', new ConvModule(16, 32, 3, { stride: 2, padding: 1, normCfg: { type: 'BN' } }));
  forward(x: Tensor): Tensor {
    return this.layer.forward(this.stem.forward(x));
  }
}

class StandInSegmentor extends Module implements Segmentor {
  readonly backbone = this.registerModule('backbone', new StandInBackbone());
  readonly classifier: Conv2d;
  constructor(readonly numClasses: number) {
    super();
    this.classifier = this.registerModule('classifier', new Conv2d(32, numClasses, 1));
  }

  /** [N, C, H, W] logits at the batch's input size. */
  private logits(images: Tensor): Tensor {
    const [, , h, w] = images.shape;
    return torch.F.interpolate(this.classifier.forward(this.backbone.forward(images)), { size: [h, w], mode: 'bilinear', alignCorners: false });
  }

  loss(batch: SegBatch): SegLossDict {
    if (!batch.gtSegMaps) throw new Error('segmentor.loss: the batch has no gtSegMaps');
    return { 'decode.loss_ce': torch.F.crossEntropy(this.logits(batch.images), batch.gtSegMaps, { ignoreIndex: 255 }) };
  }

  predict(batch: SegBatch): SegPrediction[] {
    const all = this.logits(batch.images);
    return batch.metas.map((m, i) => {
      const [h, w] = m.imgShape;
      let x = all.select(0, i).narrow(1, 0, h).narrow(2, 0, w);
      if (m.flip === 'horizontal') x = x.flip([2]);
      const logits = torch.F.interpolate(x.unsqueeze(0), { size: m.oriShape, mode: 'bilinear', alignCorners: false }).squeeze(0);
      return { logits, labels: logits.argmax({ dim: 0 }) };
    });
  }
}

/** Builds the stand-in (see the file comment). */
export function buildSegmentor(cfg: SegmentorModelConfig): Segmentor {
  const n = cfg.decodeHead.numClasses;
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`model.decodeHead.numClasses: expected a positive integer, got ${n}`);
  return new StandInSegmentor(n);
}
