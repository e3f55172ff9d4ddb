/**
 * The part every semantic-segmentation decode head shares, as MMSegmentation 1.2's BaseDecodeHead:
 * input selection, the 1×1 classifier `conv_seg` behind a channel dropout, and the training loss.
 *
 * Shapes: N images, K = numClasses, Cᵢ/Hᵢ/Wᵢ the channels and size of backbone output i,
 * H×W the label size. inputs: Tensor[] (one per backbone level, [N, Cᵢ, Hᵢ, Wᵢ]);
 * forward → logits [N, K, h, w] at the resolution of the head's features; gtSegMaps [N, H, W] int64
 * with 255 on unlabelled pixels.
 *
 * Loss keys come without a prefix (`loss_ce`, `acc_seg`); the segmentor adds `decode.` / `aux.`.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { Conv2d, Dropout2d, Module, init, type NormConfig } from '../../nn';
import type { BaseDecodeHeadConfig } from '../segmentors/config';
import type { SegLossDict } from '../segmentors/types';
import { SEG_IGNORE_INDEX, SegCrossEntropyLoss, segAccuracy } from '../losses/seg_cross_entropy';
import { OhemPixelSampler } from './ohem_pixel_sampler';

/** A decode head's options: its config without `type`. */
export type BaseDecodeHeadOptions = BaseDecodeHeadConfig;

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;

/**
 * The head's ConvModule norm: 'BN' builds BatchNorm2d, 'SyncBN' SyncBatchNorm (BatchNorm2d in one
 * process; statistics over all ranks in a distributed run).
 */
export function headNormCfg(cfg: BaseDecodeHeadConfig['normCfg']): NormConfig | null {
  if (!cfg) return null;
  return { type: cfg.type, requiresGrad: cfg.requiresGrad ?? true };
}

export abstract class BaseDecodeHead extends Module {
  readonly numClasses: number;
  readonly alignCorners: boolean;
  /** Channels of the features conv_seg classifies. */
  readonly channels: number;
  /**
   * Input channels after the input transform: one number (none; the sum for 'resize_concat') or one per
   * selected level ('multiple_select').
   */
  readonly inChannels: number | number[];
  readonly inIndex: number | number[];
  readonly inputTransform: 'resize_concat' | 'multiple_select' | null;
  /** Label of unlabelled pixels (mmseg's ignore_index, 255). */
  readonly ignoreIndex = SEG_IGNORE_INDEX;
  /** The norm of the head's ConvModules (null: none, convs with bias). */
  readonly normCfg: NormConfig | null;
  readonly convSeg: Conv2d;
  /** Channel dropout before conv_seg (null when dropoutRatio ≤ 0). */
  readonly dropout: Dropout2d | null;
  /** The lossDecode terms in config order. */
  readonly losses: SegCrossEntropyLoss[];
  readonly sampler: OhemPixelSampler | null;

  /** what: the config path used in error messages (e.g. 'decodeHead', 'auxiliaryHead[0]'). */
  constructor(opts: BaseDecodeHeadOptions, protected readonly what = 'decodeHead') {
    super();
    const { inChannels, inIndex } = opts;
    const transform = opts.inputTransform ?? null;
    if (!isPosInt(opts.numClasses)) throw new Error(`${what}.numClasses: expected a positive integer, got ${opts.numClasses}`);
    if (!isPosInt(opts.channels)) throw new Error(`${what}.channels: expected a positive integer, got ${opts.channels}`);
    if (typeof opts.alignCorners !== 'boolean') throw new Error(`${what}.alignCorners: expected true or false, got ${opts.alignCorners}`);
    const dropoutRatio = opts.dropoutRatio ?? 0.1;
    // as mmseg, a ratio ≤ 0 means no dropout (HRNet's configs write -1)
    if (!(typeof dropoutRatio === 'number' && dropoutRatio < 1)) throw new Error(`${what}.dropoutRatio: expected a number below 1 (≤ 0: none), got ${dropoutRatio}`);
    if (transform === null) {
      if (!isPosInt(inChannels)) throw new Error(`${what}.inChannels: expected a positive integer without inputTransform, got ${JSON.stringify(inChannels)}`);
      if (!Number.isInteger(inIndex)) throw new Error(`${what}.inIndex: expected an integer without inputTransform, got ${JSON.stringify(inIndex)}`);
      this.inChannels = inChannels;
    } else if (transform === 'resize_concat' || transform === 'multiple_select') {
      if (!Array.isArray(inChannels) || !inChannels.every(isPosInt)) {
        throw new Error(`${what}.inChannels: expected a list of positive integers with inputTransform '${transform}', got ${JSON.stringify(inChannels)}`);
      }
      if (!Array.isArray(inIndex) || !inIndex.every(Number.isInteger)) {
        throw new Error(`${what}.inIndex: expected a list of integers with inputTransform '${transform}', got ${JSON.stringify(inIndex)}`);
      }
      if (inChannels.length !== inIndex.length || inIndex.length === 0) {
        throw new Error(`${what}.inChannels / ${what}.inIndex: expected lists of the same non-zero length, got ${inChannels.length} and ${inIndex.length}`);
      }
      this.inChannels = transform === 'resize_concat' ? inChannels.reduce((a, b) => a + b, 0) : [...inChannels];
    } else {
      throw new Error(`${what}.inputTransform: expected 'resize_concat', 'multiple_select' or null, got ${JSON.stringify(transform)}`);
    }
    this.inIndex = Array.isArray(inIndex) ? [...inIndex] : inIndex;
    this.inputTransform = transform;
    this.numClasses = opts.numClasses;
    this.channels = opts.channels;
    this.alignCorners = opts.alignCorners;
    this.normCfg = headNormCfg(opts.normCfg);

    const lossCfgs = Array.isArray(opts.lossDecode) ? opts.lossDecode : [opts.lossDecode];
    if (lossCfgs.length === 0) throw new Error(`${what}.lossDecode: expected a loss config or a non-empty list of them`);
    this.losses = lossCfgs.map((c, i) => new SegCrossEntropyLoss(c, Array.isArray(opts.lossDecode) ? `${what}.lossDecode[${i}]` : `${what}.lossDecode`));
    if (opts.sampler && opts.sampler.type !== 'OHEMPixelSampler') {
      throw new Error(`${what}.sampler.type: expected 'OHEMPixelSampler', got '${(opts.sampler as { type: unknown }).type}'`);
    }
    this.sampler = opts.sampler ? new OhemPixelSampler(opts.sampler, `${what}.sampler`) : null;

    this.convSeg = this.registerModule('conv_seg', new Conv2d(this.channels, this.numClasses, 1));
    init.normalInit(this.convSeg, { std: 0.01, bias: 0 });
    this.dropout = dropoutRatio > 0 ? this.registerModule('dropout', new Dropout2d(dropoutRatio)) : null;
  }

  /** inChannels when the head takes one tensor (no transform or 'resize_concat'), else an error naming the field. */
  protected singleInChannels(): number {
    if (typeof this.inChannels !== 'number') throw new Error(`${this.what}.inputTransform: this head takes one input tensor, not '${this.inputTransform}'`);
    return this.inChannels;
  }

  /** inChannels per level when the head takes several ('multiple_select'). */
  protected multipleInChannels(): number[] {
    if (typeof this.inChannels === 'number') throw new Error(`${this.what}.inputTransform: this head takes several levels ('multiple_select'), got '${this.inputTransform}'`);
    return this.inChannels;
  }

  private pick(inputs: Tensor[], i: number): Tensor {
    const x = inputs.at(i);
    if (!x) throw new Error(`${this.what}.inIndex: index ${i} is out of range for ${inputs.length} backbone outputs`);
    return x;
  }

  /** The selected input: one tensor, or (resize_concat) all selected levels resized to the first's size and concatenated on channels. */
  protected transformInput(inputs: Tensor[]): Tensor {
    if (this.inputTransform === 'multiple_select') throw new Error(`${this.what}.inputTransform: this head takes one input tensor, not 'multiple_select'`);
    if (this.inputTransform === null) return this.pick(inputs, this.inIndex as number);
    const levels = (this.inIndex as number[]).map((i) => this.pick(inputs, i));
    const [h, w] = levels[0].shape.slice(2);
    return torch.tidy(() => torch.cat(levels.map((x) => this.resizeTo(x, [h, w])), 1));
  }

  /** The selected levels ('multiple_select'). */
  protected selectInputs(inputs: Tensor[]): Tensor[] {
    if (this.inputTransform !== 'multiple_select') throw new Error(`${this.what}.inputTransform: this head takes several levels ('multiple_select'), got ${JSON.stringify(this.inputTransform)}`);
    return (this.inIndex as number[]).map((i) => this.pick(inputs, i));
  }

  /** Bilinear resize [N, C, h, w] → [N, C, H, W] with the head's alignCorners (mmseg's resize). */
  protected resizeTo(x: Tensor, size: [number, number]): Tensor {
    return torch.F.interpolate(x, { size, mode: 'bilinear', alignCorners: this.alignCorners });
  }

  /** Dropout (training only) then conv_seg: features [N, channels, h, w] → logits [N, K, h, w]. */
  protected clsSeg(feat: Tensor): Tensor {
    return torch.tidy(() => this.convSeg.forward(this.dropout ? this.dropout.forward(feat) : feat));
  }

  /** Logits [N, K, h, w] at the resolution of the head's features. */
  abstract forward(inputs: Tensor[]): Tensor;

  /** Training losses of the head on backbone outputs against label maps [N, H, W] (see lossByFeat). */
  loss(inputs: Tensor[], gtSegMaps: Tensor): SegLossDict {
    return torch.tidy(() => this.lossByFeat(this.forward(inputs), gtSegMaps));
  }

  /**
   * Losses of logits [N, K, h, w] against gtSegMaps [N, H, W]: the logits are resized bilinearly to
   * H×W, the sampler (if any) weighs pixels, each lossDecode term goes under its lossName (terms with
   * the same name are summed), and acc_seg is the pixel accuracy in percent (no gradient).
   */
  lossByFeat(logits: Tensor, gtSegMaps: Tensor): SegLossDict {
    if (gtSegMaps.dim() !== 3 || gtSegMaps.shape[0] !== logits.shape[0]) {
      throw new Error(`${this.what}.loss: expected gtSegMaps [N, H, W] with N = ${logits.shape[0]}, got [${gtSegMaps.shape.join(', ')}]`);
    }
    return torch.tidy(() => {
      const labels = gtSegMaps.dtype === 'int64' ? gtSegMaps : gtSegMaps.long();
      const [h, w] = labels.shape.slice(1);
      const seg = this.resizeTo(logits, [h, w]);
      const pixelWeight = this.sampler ? this.sampler.sample(seg, labels, this.losses, this.ignoreIndex) : null;
      const out: SegLossDict = {};
      for (const l of this.losses) {
        const term = l.forward(seg, labels, { pixelWeight, ignoreIndex: this.ignoreIndex });
        const prev = out[l.lossName];
        out[l.lossName] = prev ? prev.add(term) : term;
      }
      out.acc_seg = segAccuracy(seg, labels, this.ignoreIndex);
      return out;
    });
  }

  /** Logits [N, K, H, W] resized bilinearly to size (mmseg's predict_by_feat; size absent: the features' resolution). */
  predictLogits(inputs: Tensor[], size?: [number, number]): Tensor {
    return torch.tidy(() => {
      const logits = this.forward(inputs);
      return size ? this.resizeTo(logits, size) : logits;
    });
  }
}
