/**
 * Anchor generation for dense heads (MMDetection's AnchorGenerator).
 *
 * Shapes: A = anchors per location = ratios × scales; a level of size H×W yields
 * [H*W*A, 4] anchors (x1, y1, x2, y2, absolute input-image pixels), ordered
 * (y, x, a) — the order dense heads flatten their outputs in.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';

export interface AnchorGeneratorOptions {
  /** Stride of each feature level in pixels, e.g. [4, 8, 16, 32, 64]. */
  strides: number[];
  /** Height/width ratios, e.g. [0.5, 1, 2]. */
  ratios: number[];
  /** Anchor scales relative to the base size (give scales, or octaveBaseScale + scalesPerOctave). */
  scales?: number[];
  octaveBaseScale?: number;
  scalesPerOctave?: number;
  /** Base anchor size per level (default: the level's stride). */
  baseSizes?: number[];
  /** Whether anchors vary fastest by scale (true, MMDetection's default) or by ratio. */
  scaleMajor?: boolean;
  /** Base anchors' center as a fraction of the base size (MMDetection's center_offset; 0: cell corner). */
  centerOffset?: number;
  /** Round base anchors to integers, as torchvision's AnchorGenerator does. */
  roundBaseAnchors?: boolean;
  /**
   * Scales per level (overrides `scales` level by level; every level the same count), e.g.
   * torchvision's RetinaNet sizes (x, int(x·2^(1/3)), int(x·2^(2/3))) over base size x.
   */
  levelScales?: number[][];
}

export class AnchorGenerator {
  readonly strides: number[];
  readonly ratios: number[];
  readonly scales: number[];
  readonly baseSizes: number[];
  readonly scaleMajor: boolean;
  readonly centerOffset: number;
  readonly roundBaseAnchors: boolean;
  /** Scales of each level. */
  readonly levelScales: number[][];
  /** Base anchors per level, [A, 4] as plain numbers (centered at the cell offset). */
  private readonly baseAnchors: number[][][];

  constructor(opts: AnchorGeneratorOptions) {
    this.strides = opts.strides;
    this.ratios = opts.ratios;
    if (opts.scales && opts.octaveBaseScale !== undefined) {
      throw new Error('AnchorGenerator: give either scales or octaveBaseScale/scalesPerOctave, not both');
    }
    if (opts.levelScales) {
      const n = opts.levelScales[0]?.length ?? 0;
      if (opts.levelScales.length !== opts.strides.length || n === 0 || opts.levelScales.some((l) => l.length !== n)) {
        throw new Error(`AnchorGenerator: levelScales needs ${opts.strides.length} levels (one per stride) of equally many scales`);
      }
      this.scales = opts.levelScales[0];
    } else if (opts.scales) {
      this.scales = opts.scales;
    } else if (opts.octaveBaseScale !== undefined && opts.scalesPerOctave !== undefined) {
      const n = opts.scalesPerOctave;
      this.scales = Array.from({ length: n }, (_, i) => 2 ** (i / n) * opts.octaveBaseScale!);
    } else {
      throw new Error('AnchorGenerator: scales or octaveBaseScale + scalesPerOctave are required');
    }
    this.baseSizes = opts.baseSizes ?? [...opts.strides];
    if (this.baseSizes.length !== this.strides.length) {
      throw new Error(`AnchorGenerator: baseSizes has ${this.baseSizes.length} levels, strides ${this.strides.length}`);
    }
    this.scaleMajor = opts.scaleMajor ?? true;
    this.centerOffset = opts.centerOffset ?? 0;
    this.roundBaseAnchors = opts.roundBaseAnchors ?? false;
    this.levelScales = opts.levelScales ?? this.baseSizes.map(() => this.scales);
    this.baseAnchors = this.baseSizes.map((b, level) => this.levelBaseAnchors(b, this.levelScales[level]));
  }

  get numLevels(): number {
    return this.strides.length;
  }

  /** Anchors per location (same on every level). */
  get numBaseAnchors(): number {
    return this.ratios.length * this.scales.length;
  }

  private levelBaseAnchors(baseSize: number, scales: number[]): number[][] {
    const w = baseSize, h = baseSize;
    // computed in float32 as the reference implementations do with float tensors
    const f = Math.fround;
    // MMDetection centers base anchors at center_offset × base size (torchvision: at 0)
    const cx = f(this.centerOffset * baseSize), cy = f(this.centerOffset * baseSize);
    const out: number[][] = [];
    const push = (ratio: number, scale: number) => {
      // ratios and scales are float32 tensors there: round them before use (0.7, 2^(1/3)·4 are not exact)
      const hr = f(Math.sqrt(f(ratio)));
      const wr = f(1 / hr);
      const s = f(scale);
      // (w · ratio) · scale or (w · scale) · ratio: the product order of MMDetection's
      const ws = this.scaleMajor ? f(f(w * wr) * s) : f(f(w * s) * wr);
      const hs = this.scaleMajor ? f(f(h * hr) * s) : f(f(h * s) * hr);
      let a = [f(cx - f(0.5 * ws)), f(cy - f(0.5 * hs)), f(cx + f(0.5 * ws)), f(cy + f(0.5 * hs))];
      if (this.roundBaseAnchors) a = a.map(roundHalfEven);
      out.push(a);
    };
    if (this.scaleMajor) {
      for (const r of this.ratios) for (const s of scales) push(r, s);
    } else {
      for (const s of scales) for (const r of this.ratios) push(r, s);
    }
    return out;
  }

  /**
   * Anchors of every level for feature maps of the given sizes ([H, W] per level).
   * Returns one [H*W*A, 4] float32 tensor per level.
   */
  gridAnchors(featSizes: [number, number][], device = 'cpu'): Tensor[] {
    if (featSizes.length !== this.numLevels) {
      throw new Error(`AnchorGenerator: ${featSizes.length} feature levels given, ${this.numLevels} configured`);
    }
    return featSizes.map(([h, w], level) => this.singleLevelGridAnchors(level, h, w, this.strides[level], this.strides[level], device));
  }

  /** Anchors of one level; strides may be overridden (torchvision derives them from image/feature size). */
  singleLevelGridAnchors(level: number, h: number, w: number, strideY: number, strideX: number, device = 'cpu'): Tensor {
    return torch.tidy(() => {
      const base = torch.tensor(this.baseAnchors[level], { device }); // [A, 4]
      const sx = torch.arange(0, w, 1, { dtype: 'float32', device }).mul(strideX);
      const sy = torch.arange(0, h, 1, { dtype: 'float32', device }).mul(strideY);
      const [yy, xx] = torch.meshgrid([sy, sx], 'ij');
      const shifts = torch.stack([xx.reshape(-1), yy.reshape(-1), xx.reshape(-1), yy.reshape(-1)], 1); // [H*W, 4]
      return shifts.view(-1, 1, 4).add(base.view(1, -1, 4)).reshape(-1, 4);
    });
  }

  /**
   * Indices [V] int64 of the anchors (all levels concatenated, [Σ Hl·Wl·A]) valid for training,
   * as MMDetection's valid_flags and anchor_inside_flags: on feature cells inside the image's
   * pad shape (min(ceil(pad / stride), feature size) cells per axis), and, when allowedBorder ≥ 0,
   * not crossing the image (imgShape) border by more than it. Shared by the RPN and RetinaNet heads.
   */
  trainingAnchorIndices(anchors: Tensor[], featSizes: [number, number][], padShape: [number, number], imgShape: [number, number], allowedBorder: number): Tensor {
    return torch.tidy(() => {
      const a = this.numBaseAnchors;
      const [padH, padW] = padShape;
      const device = anchors[0].device;
      const flags = featSizes.map(([h, w], level) => {
        const stride = this.strides[level];
        const vh = Math.min(Math.ceil(padH / stride), h);
        const vw = Math.min(Math.ceil(padW / stride), w);
        const fy = torch.arange(0, h, 1, { device }).lt(vh).view(h, 1, 1);
        const fx = torch.arange(0, w, 1, { device }).lt(vw).view(1, w, 1);
        return fy.logicalAnd(fx).expand(h, w, a).reshape(-1);
      });
      let valid = torch.cat(flags);
      if (allowedBorder >= 0) valid = valid.logicalAnd(this.validFlags(torch.cat(anchors), imgShape, allowedBorder));
      return valid.nonzero().view(-1);
    });
  }

  /**
   * Whether each anchor lies inside the valid (unpadded) image region, with an
   * allowed border (MMDetection: allowed_border 0 in RPN training; -1 disables).
   */
  validFlags(anchors: Tensor, imgShape: [number, number], allowedBorder = 0): Tensor {
    if (allowedBorder < 0) return torch.ones([anchors.size(0)], { dtype: 'bool', device: anchors.device });
    return torch.tidy(() => {
      const [h, w] = imgShape;
      const x1 = anchors.select(1, 0), y1 = anchors.select(1, 1), x2 = anchors.select(1, 2), y2 = anchors.select(1, 3);
      return x1.ge(-allowedBorder).logicalAnd(y1.ge(-allowedBorder))
        .logicalAnd(x2.lt(w + allowedBorder)).logicalAnd(y2.lt(h + allowedBorder));
    });
  }
}

/** Rounds half to even, as torch.round does. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
