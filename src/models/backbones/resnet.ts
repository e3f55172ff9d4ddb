/**
 * ResNet (He et al., 2016) as MMDetection's backbone: depths 18/34/50/101/152,
 * `pytorch` style (stride in the 3×3 conv) or `caffe` style (stride in the first
 * 1×1 conv), frozen stages and BN kept in eval mode (norm_eval).
 *
 * Parameter names follow torchvision/MMDetection: conv1, bn1, layer{1-4}.{i}.conv{1-3},
 * bn{1-3}, downsample.{0,1}. Input [N, 3, H, W]; outputs the stages in outIndices,
 * stage i at stride 2^(i+2) with baseChannels·2^i·expansion channels (baseChannels 64).
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { BatchNorm2d, Conv2d, Module, Sequential, init, type TensorModule } from '../../nn';

export type ResNetDepth = 18 | 34 | 50 | 101 | 152;
export type ResNetStyle = 'pytorch' | 'caffe';

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
   * Start each residual block as the identity: its last BN's weight and bias at 0
   * (MMDetection's zero_init_residual, default true). Pretrained weights overwrite it.
   */
  zeroInitResidual?: boolean;
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
  style: ResNetStyle;
  downsample: Sequential | null;
  bnEps: number;
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
    this.conv1 = this.registerModule('conv1', new Conv2d(o.inplanes, o.planes, 3, { stride: o.stride, padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(o.planes, { eps: o.bnEps }));
    this.conv2 = this.registerModule('conv2', new Conv2d(o.planes, o.planes, 3, { padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(o.planes, { eps: o.bnEps }));
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
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(o.planes, { eps: o.bnEps }));
    this.conv2 = this.registerModule('conv2', new Conv2d(o.planes, o.planes, 3, { stride: s2, padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(o.planes, { eps: o.bnEps }));
    this.conv3 = this.registerModule('conv3', new Conv2d(o.planes, o.planes * 4, 1, { bias: false }));
    this.bn3 = this.registerModule('bn3', new BatchNorm2d(o.planes * 4, { eps: o.bnEps }));
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
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
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
    this.outIndices = opts.outIndices ?? [0, 1, 2, 3];
    for (const i of this.outIndices) {
      if (!Number.isInteger(i) || i < 0 || i > 3) throw new Error(`ResNet: outIndices must be in 0..3, got ${this.outIndices}`);
    }
    this.frozenStages = opts.frozenStages ?? -1;

    const base = opts.baseChannels ?? 64;
    if (!(Number.isInteger(base) && base > 0)) throw new Error(`ResNet: baseChannels must be a positive integer, got ${opts.baseChannels}`);
    this.conv1 = this.registerModule('conv1', new Conv2d(3, base, 7, { stride: 2, padding: 3, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(base, { eps: bnEps }));
    let inplanes = base;
    this.layers = [];
    const stageChannels: number[] = [];
    counts.forEach((n, i) => {
      const planes = base * 2 ** i;
      const stride = i === 0 ? 1 : 2;
      const blocks: Module[] = [];
      for (let b = 0; b < n; b++) {
        let downsample: Sequential | null = null;
        if (b === 0 && (stride !== 1 || inplanes !== planes * Block.expansion)) {
          downsample = new Sequential(
            new Conv2d(inplanes, planes * Block.expansion, 1, { stride, bias: false }),
            new BatchNorm2d(planes * Block.expansion, { eps: bnEps }),
          );
        }
        blocks.push(new Block({ inplanes, planes, stride: b === 0 ? stride : 1, style, downsample, bnEps }));
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
      this.conv1.freeze();
      this.bn1.freeze();
    }
    for (let i = 1; i <= this.frozenStages; i++) this.layers[i - 1].freeze();
  }

  /** x [N, 3, H, W] → one feature map per out index. */
  forward(x: Tensor): Tensor[] {
    return torch.tidy(() => {
      // intermediates are freed as soon as they are consumed (a lower peak, warm memory reused)
      const c1 = this.conv1.forward(x);
      const stem = this.bn1.forward(c1).relu_();
      c1.dispose();
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
