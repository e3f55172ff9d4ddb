/**
 * Softmax cross-entropy for dense prediction, as MMSegmentation 1.2's CrossEntropyLoss (use_sigmoid
 * False), and mmseg's pixel accuracy (acc_seg).
 *
 * Shapes: N images, C classes, H×W pixels. logits [N, C, H, W] float; labels [N, H, W] int64 with
 * the ignore index (255) on pixels that carry no label.
 *
 *   ℓ_p   = w_{y_p} · (−log softmax(x_p)_{y_p})        (0 on ignored pixels; w: class weights, 1 without)
 *   loss  = lossWeight · Σ_p s_p · ℓ_p / (D + ε)       (s_p: per-pixel weights, e.g. OHEM's; 1 without)
 *   D     = Σ_p w_{y_p} over every pixel (avgNonIgnore false, mmseg's default) or over non-ignored ones.
 *
 * Without class weights D is the pixel count: by default ignored pixels count in the mean (mmseg's
 * avg_non_ignore=False), unlike PyTorch's own mean. ε = float32 epsilon (mmseg's guard against D = 0).
 * mmseg raises an IndexError when class weights meet ignored pixels (it indexes the weights by 255);
 * here an ignored pixel weighs 1 in D when avgNonIgnore is false (all-ones class weights then equal no
 * class weights) and 0 when it is true (PyTorch's weighted mean).
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import type { SegLossConfig } from '../segmentors/config';

/** float32 machine epsilon (torch.finfo(torch.float32).eps): mmseg's guard in every mean. */
export const FLOAT32_EPS = 1.1920928955078125e-7;

/** mmseg's default ignore index of label maps. */
export const SEG_IGNORE_INDEX = 255;

/** The options of one CrossEntropyLoss entry of a decode head's lossDecode. */
export interface SegCrossEntropyOptions {
  /** Per-class weights, length C (null: none). */
  classWeight?: number[] | null;
  /** Mean over non-ignored pixels only (default false: over all pixels, mmseg's default). */
  avgNonIgnore?: boolean;
  /** Factor on the loss (default 1). */
  lossWeight?: number;
  /** Label of pixels without a label (default 255). */
  ignoreIndex?: number;
}

function checkShapes(fn: string, logits: Tensor, labels: Tensor): void {
  const [n, , h, w] = logits.shape;
  if (logits.dim() !== 4 || labels.dim() !== 3 || labels.shape[0] !== n || labels.shape[1] !== h || labels.shape[2] !== w) {
    throw new Error(`${fn}: expected logits [N, C, H, W] and labels [N, H, W], got [${logits.shape.join(', ')}] and [${labels.shape.join(', ')}]`);
  }
}

/** [C] float tensor of the class weights on logits' device, or null. */
function classWeightTensor(logits: Tensor, classWeight: number[] | null | undefined): Tensor | null {
  if (!classWeight) return null;
  if (classWeight.length !== logits.shape[1]) {
    throw new Error(`lossDecode.classWeight: expected ${logits.shape[1]} weights (one per class), got ${classWeight.length}`);
  }
  return torch.tensor(classWeight, { dtype: logits.dtype, device: logits.device });
}

/**
 * Per-pixel loss [N, H, W]: lossWeight · w_y · (−log p_y), 0 on ignored pixels (mmseg's
 * reduction 'none', which OHEM ranks pixels by).
 */
export function segCrossEntropyPerPixel(logits: Tensor, labels: Tensor, opts: SegCrossEntropyOptions = {}): Tensor {
  checkShapes('segCrossEntropyPerPixel', logits, labels);
  return torch.tidy(() => {
    const weight = classWeightTensor(logits, opts.classWeight);
    const loss = torch.F.crossEntropy(logits, labels, { weight, ignoreIndex: opts.ignoreIndex ?? SEG_IGNORE_INDEX, reduction: 'none' });
    return loss.mul(opts.lossWeight ?? 1);
  });
}

/**
 * The scalar loss (see the file comment). pixelWeight [N, H, W] (optional) multiplies each pixel's
 * loss without changing the denominator, as mmseg's `weight` argument (OHEM's kept-pixel mask).
 */
export function segCrossEntropy(logits: Tensor, labels: Tensor, opts: SegCrossEntropyOptions & { pixelWeight?: Tensor | null } = {}): Tensor {
  checkShapes('segCrossEntropy', logits, labels);
  const ignoreIndex = opts.ignoreIndex ?? SEG_IGNORE_INDEX;
  return torch.tidy(() => {
    const weight = classWeightTensor(logits, opts.classWeight);
    let loss = torch.F.crossEntropy(logits, labels, { weight, ignoreIndex, reduction: 'none' });
    if (opts.pixelWeight) loss = loss.mul(opts.pixelWeight.to({ dtype: loss.dtype }));
    let denom: Tensor | number;
    if (weight === null) {
      // mmseg's default (all pixels) needs no pass over the labels
      denom = opts.avgNonIgnore ? labels.ne(ignoreIndex).sum().item() : labels.numel();
    } else {
      const ignored = labels.eq(ignoreIndex);
      const perPixel = weight.index([labels.maskedFill(ignored, 0)]);
      denom = perPixel.maskedFill(ignored, opts.avgNonIgnore ? 0 : 1).sum();
    }
    return loss.sum().div(typeof denom === 'number' ? denom + FLOAT32_EPS : denom.add(FLOAT32_EPS)).mul(opts.lossWeight ?? 1);
  });
}

/**
 * mmseg's accuracy (topk 1): the percentage of non-ignored pixels whose argmax is the label, as a
 * 0-d float tensor: (correct + ε) · 100 / (valid + ε), as mmseg (so an all-ignored batch gives 100, not 0).
 */
export function segAccuracy(logits: Tensor, labels: Tensor, ignoreIndex = SEG_IGNORE_INDEX): Tensor {
  checkShapes('segAccuracy', logits, labels);
  return torch.noGrad(() => torch.tidy(() => {
    const valid = labels.ne(ignoreIndex);
    const correct = logits.argmax({ dim: 1 }).eq(labels).logicalAnd(valid).sum().item();
    const total = valid.sum().item() + FLOAT32_EPS;
    return torch.scalarTensor((correct + FLOAT32_EPS) * (100 / total), { dtype: 'float32', device: logits.device });
  }));
}

/** One entry of a decode head's lossDecode, built from its config. */
export class SegCrossEntropyLoss {
  /** The key of this term in the head's loss dict (mmseg's loss_name, default 'loss_ce'). */
  readonly lossName: string;
  readonly opts: Readonly<SegCrossEntropyOptions>;

  constructor(cfg: SegLossConfig, what = 'lossDecode') {
    if (cfg.type !== 'CrossEntropyLoss') throw new Error(`${what}.type: expected 'CrossEntropyLoss', got '${(cfg as { type: unknown }).type}'`);
    if (cfg.useSigmoid) throw new Error(`${what}.useSigmoid: the sigmoid (binary) cross-entropy is not implemented; use the softmax form`);
    if (!(typeof cfg.lossWeight === 'number' && Number.isFinite(cfg.lossWeight))) throw new Error(`${what}.lossWeight: expected a finite number, got ${cfg.lossWeight}`);
    if (cfg.classWeight && !cfg.classWeight.every((w) => Number.isFinite(w) && w >= 0)) {
      throw new Error(`${what}.classWeight: expected finite numbers ≥ 0, got [${cfg.classWeight.join(', ')}]`);
    }
    this.lossName = cfg.lossName ?? 'loss_ce';
    this.opts = { classWeight: cfg.classWeight ?? null, avgNonIgnore: cfg.avgNonIgnore ?? false, lossWeight: cfg.lossWeight };
  }

  /** The scalar loss of logits [N, C, H, W] against labels [N, H, W] (pixelWeight [N, H, W] optional). */
  forward(logits: Tensor, labels: Tensor, opts: { pixelWeight?: Tensor | null; ignoreIndex?: number } = {}): Tensor {
    return segCrossEntropy(logits, labels, { ...this.opts, ignoreIndex: opts.ignoreIndex, pixelWeight: opts.pixelWeight });
  }

  /** Per-pixel loss [N, H, W] (loss weight and class weight applied; 0 on ignored pixels). */
  perPixel(logits: Tensor, labels: Tensor, ignoreIndex = SEG_IGNORE_INDEX): Tensor {
    return segCrossEntropyPerPixel(logits, labels, { ...this.opts, ignoreIndex });
  }
}
