/**
 * EncoderDecoder (MMSegmentation 1.2's): a backbone's feature pyramid → a decode head's logits, plus
 * auxiliary heads that only add training losses (Long et al. 2015's FCN, PSPNet's, DeepLab's and
 * UPerNet's segmentors are all this one).
 *
 * Shapes: N images, K classes, images [N, 3, H, W] (normalized, padded bottom/right); backbone outputs
 * one [N, Cᵢ, Hᵢ, Wᵢ] per level; a head's forward gives logits [N, K, h, w] at its feature resolution.
 *
 * Parameter names are mmseg's: backbone.*, decode_head.*, auxiliary_head.* (auxiliary_head.{i}.* for a
 * list), so mmseg checkpoints load strictly.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { Module, ModuleList } from '../../nn';
import type { BaseDecodeHead } from '../decode_heads/base';
import type { SegTestConfig } from './config';
import type { SegBatch, SegImageMeta, SegLossDict, SegPrediction, Segmentor } from './types';

/** A backbone as the segmentor uses it: images [N, 3, H, W] → one feature map per level. */
export interface SegBackbone extends Module {
  forward(x: Tensor): Tensor[];
}

export interface EncoderDecoderOptions {
  backbone: SegBackbone;
  decodeHead: BaseDecodeHead;
  /** Heads trained on the same features for their losses only (mmseg's auxiliary_head: one, a list, or none). */
  auxiliaryHead?: BaseDecodeHead | BaseDecodeHead[] | null;
  /** Whole-image or sliding-window inference. */
  testCfg: SegTestConfig;
}

/** mmseg's default threshold of one-channel (sigmoid) heads (BaseDecodeHead: threshold None → 0.3). */
export const SIGMOID_THRESHOLD = 0.3;

export class EncoderDecoder extends Module implements Segmentor {
  readonly backbone: SegBackbone;
  readonly decodeHead: BaseDecodeHead;
  /** null, one head, or a list (loss keys aux.* or aux_{i}.*, as mmseg). */
  readonly auxiliaryHead: BaseDecodeHead | ModuleList<BaseDecodeHead> | null;
  readonly testCfg: SegTestConfig;

  constructor(o: EncoderDecoderOptions) {
    super();
    this.backbone = this.registerModule('backbone', o.backbone);
    this.decodeHead = this.registerModule('decode_head', o.decodeHead);
    const aux = o.auxiliaryHead ?? null;
    this.auxiliaryHead = this.registerModule('auxiliary_head', Array.isArray(aux) ? new ModuleList(aux) : aux);
    this.testCfg = o.testCfg;
  }

  get numClasses(): number {
    return this.decodeHead.numClasses;
  }

  /** Decode and auxiliary losses on a batch with label maps: decode.loss_ce, decode.acc_seg, aux.loss_ce, ... */
  loss(batch: SegBatch): SegLossDict {
    const gt = batch.gtSegMaps;
    if (!gt) throw new Error('EncoderDecoder.loss: the batch has no gtSegMaps');
    return torch.tidy(() => {
      const feats = this.backbone.forward(batch.images);
      const losses = withPrefix(this.decodeHead.loss(feats, gt), 'decode');
      const aux = this.auxiliaryHead;
      if (aux instanceof ModuleList) {
        [...aux].forEach((head, i) => Object.assign(losses, withPrefix(head.loss(feats, gt), `aux_${i}`)));
      } else if (aux) {
        Object.assign(losses, withPrefix(aux.loss(feats, gt), 'aux'));
      }
      return losses;
    });
  }

  /** Per image: logits and labels at its original size (test mode from testCfg). */
  predict(batch: SegBatch): SegPrediction[] {
    return torch.tidy(() => {
      const logits = this.testCfg.mode === 'slide' ? this.slideInference(batch.images) : this.encodeDecode(batch.images);
      return batch.metas.map((meta, i) => this.postprocess(logits.select(0, i), meta));
    });
  }

  /** images [N, 3, H, W] → logits [N, K, H, W]: the decode head's, resized bilinearly to the input (mmseg's encode_decode). */
  encodeDecode(images: Tensor): Tensor {
    return torch.tidy(() => {
      const [, , h, w] = images.shape;
      const logits = this.decodeHead.forward(this.backbone.forward(images));
      return torch.F.interpolate(logits, { size: [h, w], mode: 'bilinear', alignCorners: this.decodeHead.alignCorners });
    });
  }

  /**
   * mmseg's slide_inference: windows of cropSize every stride (the last row / column shifted back to end
   * at the image's edge, a window never larger than the image), each window's logits at the window's
   * size, summed and divided by how many windows cover each pixel. images [N, 3, H, W] → [N, K, H, W].
   */
  slideInference(images: Tensor): Tensor {
    const { cropSize, stride } = this.testCfg;
    if (!cropSize || !stride) throw new Error('EncoderDecoder: testCfg.mode "slide" needs cropSize and stride');
    const [hCrop, wCrop] = cropSize;
    const [hStride, wStride] = stride;
    const [n, , hImg, wImg] = images.shape;
    const hGrids = Math.floor(Math.max(hImg - hCrop + hStride - 1, 0) / hStride) + 1;
    const wGrids = Math.floor(Math.max(wImg - wCrop + wStride - 1, 0) / wStride) + 1;
    return torch.tidy(() => {
      const preds = torch.zeros([n, this.numClasses, hImg, wImg], { device: images.device });
      const count = new Float32Array(hImg * wImg);
      for (let hi = 0; hi < hGrids; hi++) {
        for (let wi = 0; wi < wGrids; wi++) {
          const y2 = Math.min(hi * hStride + hCrop, hImg);
          const x2 = Math.min(wi * wStride + wCrop, wImg);
          const y1 = Math.max(y2 - hCrop, 0);
          const x1 = Math.max(x2 - wCrop, 0);
          const crop = images.narrow(2, y1, y2 - y1).narrow(3, x1, x2 - x1);
          const logits = this.encodeDecode(crop);
          // added in place into the window's region (mmseg pads each window to the full size and adds that;
          // the zeros elsewhere change nothing), freed window by window
          preds.narrow(2, y1, y2 - y1).narrow(3, x1, x2 - x1).add_(logits);
          torch.dispose([crop, logits]);
          for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) count[y * wImg + x] += 1;
        }
      }
      const countMat = torch.fromTypedArray(count, [1, 1, hImg, wImg], { device: images.device });
      return preds.div(countMat);
    });
  }

  /**
   * mmseg's postprocess_result for one image: logits [K, H, W] of the padded batch → the valid region
   * (imgShape, top left), flipped back if the view was flipped, resized to oriShape; labels by argmax
   * (one-channel heads: sigmoid > 0.3, and the logits become probabilities, as mmseg).
   */
  private postprocess(logits: Tensor, meta: SegImageMeta): SegPrediction {
    const [, H, W] = logits.shape;
    const [h, w] = meta.imgShape;
    if (h > H || w > W) throw new Error(`EncoderDecoder.predict: imgShape ${h}x${w} exceeds the batch's ${H}x${W}`);
    let x = logits.narrow(1, 0, h).narrow(2, 0, w);
    if (meta.flip === 'horizontal') x = x.flip([2]);
    else if (meta.flip === 'vertical') x = x.flip([1]);
    const [oh, ow] = meta.oriShape;
    if (oh !== h || ow !== w) {
      x = torch.F.interpolate(x.unsqueeze(0), { size: [oh, ow], mode: 'bilinear', alignCorners: this.decodeHead.alignCorners }).squeeze(0);
    }
    if (x.shape[0] > 1) return { logits: x, labels: x.argmax({ dim: 0 }) };
    const prob = x.sigmoid();
    return { logits: prob, labels: prob.gt(SIGMOID_THRESHOLD).squeeze(0).to('int64') };
  }
}

/** mmseg's add_prefix: { loss_ce } → { 'decode.loss_ce' }. */
function withPrefix(losses: SegLossDict, prefix: string): SegLossDict {
  return Object.fromEntries(Object.entries(losses).map(([k, v]) => [`${prefix}.${k}`, v]));
}
