/**
 * ResNet (He et al., 2016) as MMDetection's and MMSegmentation's backbone: depths 18/34/50/101/152,
 * `pytorch` style (stride in the 3×3 conv) or `caffe` style (stride in the first
 * 1×1 conv), frozen stages and BN kept in eval mode (norm_eval).
 *
 * MMSegmentation's variants are options of the same class:
 *  - ResNetV1c = deepStem: the 7×7 stem conv replaced by three 3×3 conv+BN+ReLU (stemChannels/2,
 *    stemChannels/2, stemChannels; "Bag of Tricks", He et al. 2019);
 *  - ResNetV1d = deepStem + avgDown: each downsample shortcut averages (AvgPool2d, ceil mode) before a
 *    stride-1 1×1 conv;
 *  - dilated networks ("-D8"): per-stage strides and dilations, contractDilation (the first block of a
 *    dilated stage at half the dilation) and multiGrid (the last stage's per-block dilations).
 *
 * Parameter names follow torchvision/MMDetection/MMSegmentation: conv1, bn1 (or stem.{0,1,3,4,6,7}
 * with deepStem), layer{1-4}.{i}.conv{1-3}, bn{1-3}, downsample.{0,1} (downsample.{1,2} with avgDown).
 * Input [N, 3, H, W]; outputs the stages in outIndices; stage i has baseChannels·2^i·expansion
 * channels (baseChannels 64) at stride 4·∏ strides[0..i] (default strides 1, 2, 2, 2: 4·2^i).
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { AvgPool2d, BatchNorm2d, Conv2d, Module, ReLU, Sequential, SyncBatchNorm, init, type TensorModule } from '../../nn';

export type ResNetDepth = 18 | 34 | 50 | 101 | 152;
export type ResNetStyle = 'pytorch' | 'caffe';
export type ResNetNormType = 'BN' | 'SyncBN';

/** A batch norm of norm_cfg.type `type` (undefined: 'BN'). */
export function batchNorm(type: ResNetNormType | undefined, channels: number, eps: number): BatchNorm2d {
  return type === 'SyncBN' ? new SyncBatchNorm(channels, { eps }) : new BatchNorm2d(channels, { eps });
}

export interface ResNetOptions {
  depth: ResNetDepth;
  /** Channels of the stem and of the first stage's 3×3 convs (MMDetection's base_channels, 64). */
  baseChannels?: number;
  /** Which stages (0..3) to output. */
  outIndices?: number[];
  style?: ResNetStyle;
  /** Stages to freeze: -1 none, 0 the stem, k the stem and layers 1..k. */
  frozenStages?: number;
  /** Keep every BatchNorm in eval mode (running statistics) even while training. */
  normEval?: boolean;
  /** Train BN affine parameters (MMDetection norm_cfg.requires_grad). */
  normRequiresGrad?: boolean;
  /** BN epsilon (1e-5). */
  bnEps?: number;
  /**
   * MMCV's norm_cfg.type: 'BN' (default) builds BatchNorm2d, 'SyncBN' SyncBatchNorm (BatchNorm2d in
   * one process, statistics over all ranks in a distributed run; the same checkpoint keys).
   */
  normType?: ResNetNormType;
  /**
   * Start each residual block as the identity: its last BN's weight and bias at 0
   * (MMDetection's zero_init_residual, default true). Pretrained weights overwrite it.
   */
  zeroInitResidual?: boolean;
  /** Three 3×3 stem convs instead of the 7×7 (mmseg's deep_stem; ResNetV1c/V1d). Default false. */
  deepStem?: boolean;
  /**
   * Downsample shortcuts as AvgPool2d(stride, ceil_mode, count_include_pad false) + stride-1 1×1 conv
   * (mmseg's avg_down; ResNetV1d). Default false. As mmseg's ResLayer, the pool is there at stride 1
   * too (an identity), so the conv is always `downsample.1` (MMDetection skips it at stride 1).
   */
  avgDown?: boolean;
  /** Output channels of the stem (mmseg's stem_channels, default baseChannels). */
  stemChannels?: number;
  /** Per-stage strides (default [1, 2, 2, 2]; mmseg's -D8: [1, 2, 1, 1], -D16: [1, 2, 2, 1]). */
  strides?: [number, number, number, number];
  /** Per-stage dilations of the 3×3 convs (default [1, 1, 1, 1]; mmseg's -D8: [1, 1, 2, 4]). */
  dilations?: [number, number, number, number];
  /** The first block of a stage with dilation d > 1 uses d/2 (mmseg's contract_dilation, default false). */
  contractDilation?: boolean;
  /** Dilations of the last stage's blocks, one per block (mmseg's multi_grid; null: the stage's dilation). */
  multiGrid?: number[] | null;
}

const STAGE_BLOCKS: Record<ResNetDepth, [typeof BasicBlock | typeof Bottleneck, number[]]> = {
  18: [undefined as never, [2, 2, 2, 2]],
  34: [undefined as never, [3, 4, 6, 3]],
  50: [undefined as never, [3, 4, 6, 3]],
  101: [undefined as never, [3, 4, 23, 3]],
  152: [undefined as never, [3, 8, 36, 3]],
};

interface BlockOptions {
  inplanes: number;
  planes: number;
  stride: number;
  /** Dilation (and padding) of the 3×3 conv: BasicBlock's conv1, Bottleneck's conv2 (1). */
  dilation?: number;
  style: ResNetStyle;
  downsample: Sequential | null;
  bnEps: number;
  normType?: ResNetNormType;
}

export class BasicBlock extends Module implements TensorModule {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null;

  constructor(o: BlockOptions) {
    super();
    const d = o.dilation ?? 1;
    this.conv1 = this.registerModule('conv1', new Conv2d(o.inplanes, o.planes, 3, { stride: o.stride, padding: d, dilation: d, bias: false }));
    this.bn1 = this.registerModule('bn1', batchNorm(o.normType, o.planes, o.bnEps));
    this.conv2 = this.registerModule('conv2', new Conv2d(o.planes, o.planes, 3, { padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', batchNorm(o.normType, o.planes, o.bnEps));
    this.downsample = this.registerModule('downsample', o.downsample);
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      let out = this.bn1.forward(this.conv1.forward(x)).relu_();
      out = this.bn2.forward(this.conv2.forward(out));
      const identity = this.downsample ? this.downsample.forward(x) : x;
      return out.add_(identity).relu_();
    });
  }
}

export class Bottleneck extends Module implements TensorModule {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly downsample: Sequential | null;

  constructor(o: BlockOptions) {
    super();
    // pytorch style strides in the 3×3 conv, caffe style in the first 1×1
    const s1 = o.style === 'caffe' ? o.stride : 1;
    const s2 = o.style === 'caffe' ? 1 : o.stride;
    this.conv1 = this.registerModule('conv1', new Conv2d(o.inplanes, o.planes, 1, { stride: s1, bias: false }));
    this.bn1 = this.registerModule('bn1', batchNorm(o.normType, o.planes, o.bnEps));
    const d = o.dilation ?? 1;
    this.conv2 = this.registerModule('conv2', new Conv2d(o.planes, o.planes, 3, { stride: s2, padding: d, dilation: d, bias: false }));
    this.bn2 = this.registerModule('bn2', batchNorm(o.normType, o.planes, o.bnEps));
    this.conv3 = this.registerModule('conv3', new Conv2d(o.planes, o.planes * 4, 1, { bias: false }));
    this.bn3 = this.registerModule('bn3', batchNorm(o.normType, o.planes * 4, o.bnEps));
    this.downsample = this.registerModule('downsample', o.downsample);
  }

  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      let out = this.bn1.forward(this.conv1.forward(x)).relu_();
      out = this.bn2.forward(this.conv2.forward(out)).relu_();
      out = this.bn3.forward(this.conv3.forward(out));
      const identity = this.downsample ? this.downsample.forward(x) : x;
      return out.add_(identity).relu_();
    });
  }
}
STAGE_BLOCKS[18][0] = BasicBlock;
STAGE_BLOCKS[34][0] = BasicBlock;
STAGE_BLOCKS[50][0] = Bottleneck;
STAGE_BLOCKS[101][0] = Bottleneck;
STAGE_BLOCKS[152][0] = Bottleneck;

export class ResNet extends Module {
  /** The 7×7 stem conv and its BN (absent with deepStem). */
  readonly conv1: Conv2d | null;
  readonly bn1: BatchNorm2d | null;
  /** The deep stem: three 3×3 conv + BN + ReLU (deepStem only). */
  readonly stem: Sequential | null;
  readonly layers: Sequential[];
  readonly outIndices: number[];
  readonly frozenStages: number;
  /** Channels of each output (in outIndices order). */
  readonly outChannels: number[];

  constructor(opts: ResNetOptions) {
    super();
    const entry = STAGE_BLOCKS[opts.depth];
    if (!entry) throw new Error(`ResNet: depth must be one of 18, 34, 50, 101, 152, got ${opts.depth}`);
    const [Block, counts] = entry;
    const style = opts.style ?? 'pytorch';
    const bnEps = opts.bnEps ?? 1e-5;
    if (opts.normType !== undefined && opts.normType !== 'BN' && opts.normType !== 'SyncBN') {
      throw new Error(`ResNet: normType must be 'BN' or 'SyncBN', got ${JSON.stringify(opts.normType)}`);
    }
    this.outIndices = opts.outIndices ?? [0, 1, 2, 3];
    for (const i of this.outIndices) {
      if (!Number.isInteger(i) || i < 0 || i > 3) throw new Error(`ResNet: outIndices must be in 0..3, got ${this.outIndices}`);
    }
    this.frozenStages = opts.frozenStages ?? -1;
    const strides = opts.strides ?? [1, 2, 2, 2];
    const dilations = opts.dilations ?? [1, 1, 1, 1];
    const positiveInts = (v: unknown, n: number) => Array.isArray(v) && v.length === n && v.every((x) => Number.isInteger(x) && x >= 1);
    if (!positiveInts(strides, 4)) throw new Error(`ResNet: strides must be 4 positive integers, got ${JSON.stringify(opts.strides)}`);
    if (!positiveInts(dilations, 4)) throw new Error(`ResNet: dilations must be 4 positive integers, got ${JSON.stringify(opts.dilations)}`);
    const multiGrid = opts.multiGrid ?? null;
    if (multiGrid !== null && !positiveInts(multiGrid, counts[3])) {
      throw new Error(`ResNet: multiGrid must give one positive dilation per block of the last stage (${counts[3]}), got ${JSON.stringify(multiGrid)}`);
    }

    const base = opts.baseChannels ?? 64;
    if (!(Number.isInteger(base) && base > 0)) throw new Error(`ResNet: baseChannels must be a positive integer, got ${opts.baseChannels}`);
    const stemCh = opts.stemChannels ?? base;
    if (!(Number.isInteger(stemCh) && stemCh > 0 && (!opts.deepStem || stemCh % 2 === 0))) {
      throw new Error(`ResNet: stemChannels must be a positive integer (even with deepStem), got ${opts.stemChannels}`);
    }
    if (opts.deepStem) {
      const convBnRelu = (i: number, o: number, stride: number): TensorModule[] => [
        new Conv2d(i, o, 3, { stride, padding: 1, bias: false }), batchNorm(opts.normType, o, bnEps), new ReLU(true),
      ];
      this.stem = this.registerModule('stem', new Sequential(
        ...convBnRelu(3, stemCh / 2, 2), ...convBnRelu(stemCh / 2, stemCh / 2, 1), ...convBnRelu(stemCh / 2, stemCh, 1),
      ));
      this.conv1 = null;
      this.bn1 = null;
    } else {
      this.stem = null;
      this.conv1 = this.registerModule('conv1', new Conv2d(3, stemCh, 7, { stride: 2, padding: 3, bias: false }));
      this.bn1 = this.registerModule('bn1', batchNorm(opts.normType, stemCh, bnEps));
    }
    let inplanes = stemCh;
    this.layers = [];
    const stageChannels: number[] = [];
    counts.forEach((n, i) => {
      const planes = base * 2 ** i;
      const stride = strides[i];
      const dilation = dilations[i];
      // mmseg's ResLayer: multi_grid on the last stage, else contract_dilation halves the first block's
      const grid = i === 3 ? multiGrid : null;
      const firstDilation = grid ? grid[0] : dilation > 1 && opts.contractDilation ? Math.floor(dilation / 2) : dilation;
      const blocks: Module[] = [];
      for (let b = 0; b < n; b++) {
        let downsample: Sequential | null = null;
        if (b === 0 && (stride !== 1 || inplanes !== planes * Block.expansion)) {
          const conv = new Conv2d(inplanes, planes * Block.expansion, 1, { stride: opts.avgDown ? 1 : stride, bias: false });
          const bn = batchNorm(opts.normType, planes * Block.expansion, bnEps);
          downsample = opts.avgDown
            ? new Sequential(new AvgPool2d(stride, { stride, ceilMode: true, countIncludePad: false }), conv, bn)
            : new Sequential(conv, bn);
        }
        const d = b === 0 ? firstDilation : grid ? grid[b] : dilation;
        blocks.push(new Block({ inplanes, planes, stride: b === 0 ? stride : 1, dilation: d, style, downsample, bnEps, normType: opts.normType }));
        inplanes = planes * Block.expansion;
      }
      this.layers.push(this.registerModule(`layer${i + 1}`, new Sequential(...(blocks as TensorModule[]))));
      stageChannels.push(inplanes);
    });
    this.outChannels = this.outIndices.map((i) => stageChannels[i]);
    this.initWeights(opts.zeroInitResidual ?? true);
    if (opts.normRequiresGrad === false) {
      for (const m of this.modules()) if (m instanceof BatchNorm2d) m.requiresGrad_(false);
    }
    this.freezeStages();
    if (opts.normEval) this.normEval();
  }

  /**
   * MMDetection's ResNet init_cfg: Kaiming normal (fan_out, relu) on every conv, BN weight 1
   * and bias 0, then with zeroInitResidual the last BN of each block (bn3, or bn2 of a
   * BasicBlock) at 0, as its block init_cfg Constant(val=0, override norm3/norm2).
   */
  private initWeights(zeroInitResidual: boolean): void {
    for (const m of this.modules()) {
      if (m instanceof Conv2d) init.kaimingInit(m, { mode: 'fan_out', nonlinearity: 'relu', distribution: 'normal' });
      else if (m instanceof BatchNorm2d) init.constantInit(m, 1, 0);
    }
    if (!zeroInitResidual) return;
    for (const layer of this.layers) {
      for (const block of layer.modules()) {
        if (block instanceof Bottleneck) init.constantInit(block.bn3, 0, 0);
        else if (block instanceof BasicBlock) init.constantInit(block.bn2, 0, 0);
      }
    }
  }

  private freezeStages(): void {
    if (this.frozenStages >= 0) {
      this.stem?.freeze();
      this.conv1?.freeze();
      this.bn1?.freeze();
    }
    for (let i = 1; i <= this.frozenStages; i++) this.layers[i - 1].freeze();
  }

  /** x [N, 3, H, W] → one feature map per out index. */
  forward(x: Tensor): Tensor[] {
    return torch.tidy(() => {
      // intermediates are freed as soon as they are consumed (a lower peak, warm memory reused)
      let stem: Tensor;
      if (this.stem) {
        stem = this.stem.forward(x);
      } else {
        const c1 = this.conv1!.forward(x);
        stem = this.bn1!.forward(c1).relu_();
        c1.dispose();
      }
      let out = torch.F.maxPool2d(stem, 3, { stride: 2, padding: 1 });
      stem.dispose();
      const outs: Tensor[] = [];
      this.layers.forEach((layer, i) => {
        const next = layer.forward(out);
        if (!outs.includes(out)) out.dispose();
        out = next;
        if (this.outIndices.includes(i)) outs.push(out);
      });
      if (!outs.includes(out)) out.dispose();
      return outs;
    });
  }
}
