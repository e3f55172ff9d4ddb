/**
 * HRNet (Wang et al., 2019: "Deep High-Resolution Representation Learning"), as MMSegmentation 1.2's
 * `HRNet` backbone (HRNetV2 for FCN/OCRNet) and MMPose 1.3's (top-down heatmaps), one class for both.
 *
 * Shapes: input x [N, Cin, H, W]. The stem (two stride-2 3×3 convs) gives [N, 64, H/4, W/4]; layer1
 * (stage 1) keeps that resolution; stage s ∈ {2, 3, 4} has s parallel branches, branch b at stride
 * 4·2^b with numChannels[b]·expansion channels. forward() returns stage 4's branches, highest
 * resolution first (only branch 0 with multiscaleOutput false). Sizes round up at each stride-2 conv
 * (⌈h/2⌉), so an odd input gives branches whose sizes are not exact halves of each other.
 *
 * Parameter names are mmseg's / mmpose's state-dict keys, so their checkpoints load strictly:
 *   conv1, bn1, conv2, bn2                                  stem
 *   layer1.{k}.conv{1-3}/bn{1-3}/downsample.{0,1}           stage 1 blocks (resnet.ts's Bottleneck/BasicBlock)
 *   transition{1,2,3}.{b}.{0,1} | .{b}.{k}.{0,1}            to a new branch: stride-2 convs (+BN, ReLU)
 *   stage{2,3,4}.{m}.branches.{b}.{k}....                   HRModule m's blocks
 *   stage{2,3,4}.{m}.fuse_layers.{i}.{j}.{0,1}              j > i: 1×1 conv + BN, then upsample
 *   stage{2,3,4}.{m}.fuse_layers.{i}.{j}.{k}.{0,1}          j < i: i−j stride-2 3×3 convs + BN (ReLU between)
 *
 * The two toolboxes differ only in the fuse layers' upsampling, the default of multiscaleOutput and
 * the initialisation; `flavor` picks the toolbox (see HRNetFlavor).
 *
 * Checkpoints written by mmseg / mmpose load strictly. The ImageNet initialisations their configs name
 * (open-mmlab://msra/hrnetv2_w18, mmpose's hrnet_w32-36af842e.pth) come from the classification HRNet and
 * are expected to hold more keys than this backbone (its head: incre_modules, downsamp_modules,
 * final_layer, classifier; for a pose net with multiscaleOutput false, stage4's last fuse rows 1-3):
 * the toolboxes load them non-strictly, so a pretrained loader must ignore those (not checked here:
 * those files are not on this machine).
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { BatchNorm2d, Conv2d, Module, ModuleList, ReLU, Sequential, init, type TensorModule } from '../../nn';
import type { HRNetConfig, HRNetStageConfig } from '../segmentors/config';
import { BasicBlock, Bottleneck, batchNorm, type ResNetNormType } from './resnet';

/**
 * Which toolbox's HRNet (config `backbone.flavor`):
 *  - 'mmseg' (default): a fuse layer upsamples bilinearly (align_corners false) by 2^(j−i), then
 *    resizes bilinearly to branch i's size (odd input sizes work); multiscaleOutput defaults to true;
 *    convs start Kaiming-normal (fan_out, relu).
 *  - 'mmpose': a fuse layer upsamples by the scale factor with `extra.upsample` (default nearest) and
 *    no resize, so branch sizes must be exact multiples (input divisible by 32; otherwise an error);
 *    multiscaleOutput (mmpose's extra.stage4.multiscale_output) defaults to false; convs start N(0, 0.001²).
 */
export type HRNetFlavor = 'mmseg' | 'mmpose';

type BlockClass = typeof BasicBlock | typeof Bottleneck;
const BLOCKS: Record<HRNetStageConfig['block'], BlockClass> = { BASIC: BasicBlock, BOTTLENECK: Bottleneck };
const BN_EPS = 1e-5;
/** Stem width: fixed at 64 in both toolboxes. */
const STEM_CHANNELS = 64;

interface FuseUpsample {
  flavor: HRNetFlavor;
  /** mmpose only: the Upsample mode and align_corners. */
  mode: 'nearest' | 'bilinear';
  alignCorners: boolean | null;
}

/** A ModuleList whose entries may be None (mmseg's transition and fuse layers): the index names stay. */
class OptionalList<M extends Module> extends Module {
  readonly items: (M | null)[];

  constructor(items: (M | null)[]) {
    super();
    items.forEach((m, i) => this.registerModule(String(i), m));
    this.items = items;
  }

  get length(): number {
    return this.items.length;
  }
}

function convBn(inCh: number, outCh: number, kernel: 1 | 3, stride: number, relu: boolean, normType: ResNetNormType | undefined): Sequential {
  const layers: TensorModule[] = [
    new Conv2d(inCh, outCh, kernel, { stride, padding: kernel === 3 ? 1 : 0, bias: false }),
    batchNorm(normType, outCh, BN_EPS),
  ];
  if (relu) layers.push(new ReLU());
  return new Sequential(...layers);
}

/** A run of residual blocks (mmseg's _make_layer / HRModule._make_one_branch, stride 1). */
function makeBlocks(Block: BlockClass, inplanes: number, planes: number, count: number, normType: ResNetNormType | undefined): Sequential {
  const out = planes * Block.expansion;
  const downsample = inplanes !== out ? convBn(inplanes, out, 1, 1, false, normType) : null;
  const blocks: TensorModule[] = [];
  for (let k = 0; k < count; k++) {
    blocks.push(new Block({ inplanes: k === 0 ? inplanes : out, planes, stride: 1, style: 'pytorch', downsample: k === 0 ? downsample : null, bnEps: BN_EPS, normType }));
  }
  return new Sequential(...blocks);
}

/**
 * mmseg's HRModule: numBranches parallel runs of blocks, then every output branch i sums all branches
 * brought to its resolution and channels (fuse_layers.i.j), followed by a ReLU.
 */
export class HRModule extends Module {
  readonly branches: ModuleList<Sequential>;
  /** Rows of fuse layers (one per output branch); null with a single branch. */
  readonly fuseLayers: ModuleList<OptionalList<Sequential>> | null;
  /** Channels of each output branch. */
  readonly outChannels: number[];

  constructor(
    inChannels: number[],
    stage: HRNetStageConfig,
    multiscaleOutput: boolean,
    private readonly upsample: FuseUpsample,
    normType?: ResNetNormType,
  ) {
    super();
    const Block = BLOCKS[stage.block];
    const n = stage.numBranches;
    this.branches = this.registerModule('branches', new ModuleList(
      stage.numChannels.map((c, b) => makeBlocks(Block, inChannels[b], c, stage.numBlocks[b], normType)),
    ));
    const ch = stage.numChannels.map((c) => c * Block.expansion);
    this.outChannels = multiscaleOutput ? ch : ch.slice(0, 1);
    if (n === 1) {
      this.fuseLayers = this.registerModule('fuse_layers', null);
      return;
    }
    const rows: OptionalList<Sequential>[] = [];
    for (let i = 0; i < this.outChannels.length; i++) {
      const row: (Sequential | null)[] = [];
      for (let j = 0; j < n; j++) {
        if (j > i) row.push(convBn(ch[j], ch[i], 1, 1, false, normType));
        else if (j === i) row.push(null);
        else {
          // i − j stride-2 convs: the last one to branch i's channels without ReLU, the others keep branch j's
          const steps: TensorModule[] = [];
          for (let k = 0; k < i - j; k++) {
            const last = k === i - j - 1;
            steps.push(convBn(ch[j], last ? ch[i] : ch[j], 3, 2, !last, normType));
          }
          row.push(new Sequential(...steps));
        }
      }
      rows.push(new OptionalList(row));
    }
    this.fuseLayers = this.registerModule('fuse_layers', new ModuleList(rows));
  }

  /** xs: one tensor per branch, [N, C_b, H_b, W_b] → one per output branch. */
  forward(xs: Tensor[]): Tensor[] {
    return torch.tidy(() => {
      const ys = xs.map((x, b) => this.branches.at(b).forward(x));
      if (this.fuseLayers === null) return ys;
      // intermediates are freed as soon as they are summed (a lower peak), not at the end of the scope
      const outs = this.fuseLayers.map((row, i) => {
        let sum: Tensor | null = null;
        // summed in mmseg's order (j = 0, 1, ...) so that float rounding matches
        for (let j = 0; j < ys.length; j++) {
          let term = ys[j];
          if (j > i) {
            const z = row.items[j]!.forward(ys[j]);
            term = this.upsampleTo(z, ys[i], i, j);
            if (term !== z) z.dispose();
          } else if (j < i) {
            term = row.items[j]!.forward(ys[j]);
          }
          if (sum === null) {
            // branch i's own tensor is copied before the in-place sum: the other rows read it too
            sum = term === ys[j] ? term.clone() : term;
          } else {
            sum.add_(term);
            if (term !== ys[j]) term.dispose();
          }
        }
        return sum!.relu_();
      });
      for (const y of ys) y.dispose();
      return outs;
    });
  }

  /** Brings a fused lower-resolution branch j (after its 1×1 conv + BN) to branch i's size. */
  private upsampleTo(y: Tensor, target: Tensor, i: number, j: number): Tensor {
    const scale = 2 ** (j - i);
    const [h, w] = target.shape.slice(2);
    if (this.upsample.flavor === 'mmseg') {
      // mmseg's Upsample(scale_factor, bilinear, align_corners=False) computes the size int(t·scale) and
      // interpolates to it; then resize() to branch i's size. An equal-size bilinear resize (align_corners
      // false) is an exact copy, so it is skipped.
      const up = torch.F.interpolate(y, { size: [y.shape[2] * scale, y.shape[3] * scale], mode: 'bilinear', alignCorners: false });
      if (up.shape[2] === h && up.shape[3] === w) return up;
      const resized = torch.F.interpolate(up, { size: [h, w], mode: 'bilinear', alignCorners: false });
      up.dispose();
      return resized;
    }
    // mmpose's nn.Upsample(scale_factor): the scale goes to the kernel, no resize afterwards
    const up = this.upsample.mode === 'nearest'
      ? torch.F.interpolate(y, { scaleFactor: scale, mode: 'nearest' })
      : torch.F.interpolate(y, { scaleFactor: scale, mode: 'bilinear', alignCorners: this.upsample.alignCorners ?? false });
    if (up.shape[2] !== h || up.shape[3] !== w) {
      throw new Error(
        `HRNet (flavor 'mmpose'): branch ${j} upsampled ×${scale} is ${up.shape[2]}×${up.shape[3]}, branch ${i} is ${h}×${w}; ` +
        `mmpose's HRNet adds them without resizing, so the input's height and width must be divisible by 32 ` +
        `(or use backbone.flavor 'mmseg', which resizes)`,
      );
    }
    return up;
  }
}

/** HRNet backbone (see the file comment). */
export class HRNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly layer1: Sequential;
  readonly transitions: OptionalList<Sequential>[];
  readonly stages: ModuleList<HRModule>[];
  readonly flavor: HRNetFlavor;
  readonly frozenStages: number;
  /** Channels of each output (highest resolution first). */
  readonly outChannels: number[];

  constructor(cfg: HRNetConfig) {
    super();
    validate(cfg);
    const { extra } = cfg;
    this.flavor = cfg.flavor ?? 'mmseg';
    const multiscaleOutput = cfg.multiscaleOutput ?? this.flavor === 'mmseg';
    const upsample: FuseUpsample = {
      flavor: this.flavor,
      mode: extra.upsample?.mode ?? 'nearest',
      alignCorners: extra.upsample?.alignCorners ?? null,
    };
    this.frozenStages = cfg.frozenStages ?? -1;

    this.conv1 = this.registerModule('conv1', new Conv2d(cfg.inChannels ?? 3, STEM_CHANNELS, 3, { stride: 2, padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', batchNorm(cfg.normType, STEM_CHANNELS, BN_EPS));
    this.conv2 = this.registerModule('conv2', new Conv2d(STEM_CHANNELS, STEM_CHANNELS, 3, { stride: 2, padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', batchNorm(cfg.normType, STEM_CHANNELS, BN_EPS));

    const s1 = extra.stage1;
    const Block1 = BLOCKS[s1.block];
    this.layer1 = this.registerModule('layer1', makeBlocks(Block1, STEM_CHANNELS, s1.numChannels[0], s1.numBlocks[0], cfg.normType));
    let pre = [s1.numChannels[0] * Block1.expansion];

    this.transitions = [];
    this.stages = [];
    const stageCfgs = [extra.stage2, extra.stage3, extra.stage4];
    stageCfgs.forEach((stage, s) => {
      const cur = stage.numChannels.map((c) => c * BLOCKS[stage.block].expansion);
      this.transitions.push(this.registerModule(`transition${s + 1}`, makeTransition(pre, cur, cfg.normType)));
      const modules: HRModule[] = [];
      for (let m = 0; m < stage.numModules; m++) {
        // multiscale_output applies to the last module of stage 4 only
        const multi = s < 2 || m < stage.numModules - 1 || multiscaleOutput;
        modules.push(new HRModule(cur, stage, multi, upsample, cfg.normType));
      }
      this.stages.push(this.registerModule(`stage${s + 2}`, new ModuleList(modules)));
      pre = modules[modules.length - 1].outChannels;
    });
    this.outChannels = pre;

    this.initWeights(cfg.zeroInitResidual ?? false);
    this.freezeStages();
    if (cfg.normEval) this.normEval();
  }

  /**
   * mmseg: Kaiming normal (fan_out, relu) on convs; mmpose: N(0, 0.001²); BN weight 1, bias 0 (both).
   * zeroInitResidual puts each block's last BN at 0, as mmpose's init_weights (mmseg 1.2 accepts the
   * option but never applies it: its condition `not hasattr(self, 'init_cfg')` is always false).
   */
  private initWeights(zeroInitResidual: boolean): void {
    for (const m of this.modules()) {
      if (m instanceof Conv2d) {
        if (this.flavor === 'mmpose') init.normalInit(m, { std: 0.001 });
        else init.kaimingInit(m, { mode: 'fan_out', nonlinearity: 'relu', distribution: 'normal' });
      } else if (m instanceof BatchNorm2d) init.constantInit(m, 1, 0);
    }
    if (!zeroInitResidual) return;
    for (const m of this.modules()) {
      if (m instanceof Bottleneck) init.constantInit(m.bn3, 0, 0);
      else if (m instanceof BasicBlock) init.constantInit(m.bn2, 0, 0);
    }
  }

  /** frozenStages k ≥ 0 freezes the stem; then layer1 + transition1, stage2 + transition2, stage3 + transition3, stage4. */
  private freezeStages(): void {
    if (this.frozenStages < 0) return;
    for (const m of [this.conv1, this.bn1, this.conv2, this.bn2]) m.freeze();
    for (let i = 1; i <= this.frozenStages; i++) {
      (i === 1 ? this.layer1 : this.stages[i - 2]).freeze();
      if (i < 4) this.transitions[i - 1].freeze();
    }
  }

  /** x [N, Cin, H, W] → stage 4's branches [N, outChannels[b], H_b, W_b], highest resolution first. */
  forward(x: Tensor): Tensor[] {
    return torch.tidy(() => {
      // intermediates are freed as soon as they are consumed (a lower peak, warm memory reused)
      const c1 = this.conv1.forward(x);
      const s1 = this.bn1.forward(c1).relu_();
      c1.dispose();
      const c2 = this.conv2.forward(s1);
      s1.dispose();
      const stem = this.bn2.forward(c2).relu_();
      c2.dispose();
      let ys = [this.layer1.forward(stem)];
      stem.dispose();
      this.stages.forEach((stage, s) => {
        // as mmseg: a transition (new branch, or changed channels) reads the previous stage's lowest branch
        // (stage 2: layer1's output); an unchanged branch passes through
        const last = ys[ys.length - 1];
        let zs = this.transitions[s].items.map((t, b) => (t === null ? ys[b] : t.forward(last)));
        const stale = new Set(ys);
        for (const hm of stage) {
          const next = hm.forward(zs);
          for (const z of zs) stale.add(z);
          for (const t of stale) t.dispose();
          stale.clear();
          zs = next;
        }
        ys = zs;
      });
      return ys;
    });
  }
}

/** mmseg's _make_transition_layer: from the previous stage's branch channels to this stage's. */
function makeTransition(pre: number[], cur: number[], normType: ResNetNormType | undefined): OptionalList<Sequential> {
  const items = cur.map((c, i) => {
    if (i < pre.length) return c !== pre[i] ? convBn(pre[i], c, 3, 1, true, normType) : null;
    // a new branch: i + 1 − pre.length stride-2 convs from the last branch, the last one to c channels
    const steps: TensorModule[] = [];
    const n = i + 1 - pre.length;
    for (let k = 0; k < n; k++) {
      const inCh = pre[pre.length - 1];
      steps.push(convBn(inCh, k === n - 1 ? c : inCh, 3, 2, true, normType));
    }
    return new Sequential(...steps);
  });
  return new OptionalList(items);
}

function validate(cfg: HRNetConfig): void {
  if (cfg.type !== 'HRNet') throw new Error(`backbone.type: expected 'HRNet', got ${JSON.stringify(cfg.type)}`);
  const flavor = cfg.flavor ?? 'mmseg';
  if (flavor !== 'mmseg' && flavor !== 'mmpose') throw new Error(`backbone.flavor: expected 'mmseg' or 'mmpose', got ${JSON.stringify(cfg.flavor)}`);
  if (cfg.normType !== undefined && cfg.normType !== 'BN' && cfg.normType !== 'SyncBN') {
    throw new Error(`backbone.normType: expected 'BN' or 'SyncBN', got ${JSON.stringify(cfg.normType)}`);
  }
  if (!cfg.extra || typeof cfg.extra !== 'object') throw new Error('backbone.extra: expected { stage1, stage2, stage3, stage4 }');
  for (let s = 1; s <= 4; s++) {
    const key = `backbone.extra.stage${s}`;
    const st = (cfg.extra as unknown as Record<string, HRNetStageConfig | undefined>)[`stage${s}`];
    if (!st) throw new Error(`${key}: missing`);
    const posInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
    if (!posInt(st.numModules)) throw new Error(`${key}.numModules: expected a positive integer, got ${JSON.stringify(st.numModules)}`);
    if (!posInt(st.numBranches)) throw new Error(`${key}.numBranches: expected a positive integer, got ${JSON.stringify(st.numBranches)}`);
    if (!(st.block in BLOCKS)) throw new Error(`${key}.block: expected 'BASIC' or 'BOTTLENECK', got ${JSON.stringify(st.block)}`);
    for (const f of ['numBlocks', 'numChannels'] as const) {
      const v = st[f];
      if (!Array.isArray(v) || v.length !== st.numBranches || !v.every(posInt)) {
        throw new Error(`${key}.${f}: expected ${st.numBranches} positive integers (numBranches), got ${JSON.stringify(v)}`);
      }
    }
  }
  if (cfg.extra.stage1.numBranches !== 1) throw new Error(`backbone.extra.stage1.numBranches: expected 1 (stage 1 is one run of blocks), got ${cfg.extra.stage1.numBranches}`);
  if (cfg.extra.stage1.numModules !== 1) throw new Error(`backbone.extra.stage1.numModules: expected 1, got ${cfg.extra.stage1.numModules}`);
  for (let s = 2; s <= 4; s++) {
    const prev = (cfg.extra as unknown as Record<string, HRNetStageConfig>)[`stage${s - 1}`].numBranches;
    const cur = (cfg.extra as unknown as Record<string, HRNetStageConfig>)[`stage${s}`].numBranches;
    if (cur < prev) throw new Error(`backbone.extra.stage${s}.numBranches: expected at least stage${s - 1}'s ${prev}, got ${cur}`);
  }
  if (cfg.extra.upsample !== undefined) {
    if (flavor !== 'mmpose') throw new Error("backbone.extra.upsample: only mmpose's HRNet reads it (set backbone.flavor 'mmpose'); mmseg's fuse layers always upsample bilinearly");
    const mode = cfg.extra.upsample.mode;
    if (mode !== 'nearest' && mode !== 'bilinear') throw new Error(`backbone.extra.upsample.mode: expected 'nearest' or 'bilinear', got ${JSON.stringify(mode)}`);
    if (mode === 'nearest' && cfg.extra.upsample.alignCorners) throw new Error("backbone.extra.upsample.alignCorners: only applies to mode 'bilinear'");
  }
  if (cfg.frozenStages !== undefined && !(Number.isInteger(cfg.frozenStages) && cfg.frozenStages >= -1 && cfg.frozenStages <= 4)) {
    throw new Error(`backbone.frozenStages: expected an integer in -1..4, got ${JSON.stringify(cfg.frozenStages)}`);
  }
  if (cfg.inChannels !== undefined && !(Number.isInteger(cfg.inChannels) && cfg.inChannels > 0)) {
    throw new Error(`backbone.inChannels: expected a positive integer, got ${JSON.stringify(cfg.inChannels)}`);
  }
}

/** Builds the HRNet of a segmentor (or pose) config; the segmentor builder registers it under 'HRNet'. */
export function buildHRNet(cfg: HRNetConfig): HRNet {
  return new HRNet(cfg);
}
