/**
 * Feature Pyramid Network (Lin et al., 2017), as MMDetection's FPN.
 *
 * Inputs: backbone maps C_i [N, inChannels[i], H_i, W_i]; outputs numOuts maps
 * [N, outChannels, H, W], finest first; levels past the backbone come from
 * max-pooling (addExtraConvs false) or stride-2 3×3 convs on the input, the last
 * lateral or the last output. Names: lateral_convs.{i}.conv, fpn_convs.{i}.conv.
 */
import * as torch from '../../torch';
import type { Tensor } from '../../torch';
import { Conv2d, ConvModule, Module, ModuleList, init } from '../../nn';

export interface FPNOptions {
  inChannels: number[];
  outChannels: number;
  numOuts: number;
  /** First backbone level used. */
  startLevel?: number;
  /** Last backbone level used, exclusive (-1: all). */
  endLevel?: number;
  addExtraConvs?: false | 'on_input' | 'on_lateral' | 'on_output';
  reluBeforeExtraConvs?: boolean;
}

export class FPN extends Module {
  readonly lateralConvs: ModuleList<ConvModule>;
  readonly fpnConvs: ModuleList<ConvModule>;
  private readonly startLevel: number;
  private readonly backboneEndLevel: number;
  private readonly numOuts: number;
  private readonly addExtraConvs: FPNOptions['addExtraConvs'];
  private readonly reluBeforeExtraConvs: boolean;

  constructor(opts: FPNOptions) {
    super();
    const nIn = opts.inChannels.length;
    this.startLevel = opts.startLevel ?? 0;
    const endLevel = opts.endLevel ?? -1;
    this.backboneEndLevel = endLevel === -1 || endLevel === nIn ? nIn : endLevel;
    this.numOuts = opts.numOuts;
    if (this.numOuts < this.backboneEndLevel - this.startLevel) {
      throw new Error(`FPN: numOuts (${this.numOuts}) is less than the ${this.backboneEndLevel - this.startLevel} backbone levels used`);
    }
    this.addExtraConvs = opts.addExtraConvs ?? false;
    this.reluBeforeExtraConvs = opts.reluBeforeExtraConvs ?? false;
    const out = opts.outChannels;
    const noAct = { normCfg: null, actCfg: null } as const;
    const laterals: ConvModule[] = [];
    const fpns: ConvModule[] = [];
    for (let i = this.startLevel; i < this.backboneEndLevel; i++) {
      laterals.push(new ConvModule(opts.inChannels[i], out, 1, noAct));
      fpns.push(new ConvModule(out, out, 3, { padding: 1, ...noAct }));
    }
    const extraLevels = this.numOuts - this.backboneEndLevel + this.startLevel;
    if (this.addExtraConvs) {
      for (let i = 0; i < extraLevels; i++) {
        const inC = i === 0 && this.addExtraConvs === 'on_input' ? opts.inChannels[this.backboneEndLevel - 1] : out;
        fpns.push(new ConvModule(inC, out, 3, { stride: 2, padding: 1, ...noAct }));
      }
    }
    this.lateralConvs = this.registerModule('lateral_convs', new ModuleList(laterals));
    this.fpnConvs = this.registerModule('fpn_convs', new ModuleList(fpns));
    // MMDetection's FPN init_cfg: Xavier uniform (gain 1, bias 0) on every Conv2d. Its
    // ConvModules sit in plain nn.ModuleLists, so their own kaiming init_weights never runs.
    for (const m of this.modules()) if (m instanceof Conv2d) init.xavierInit(m, { distribution: 'uniform' });
  }

  forward(inputs: Tensor[]): Tensor[] {
    return torch.tidy(() => {
      const laterals = this.lateralConvs.map((conv, i) => conv.forward(inputs[i + this.startLevel]));
      for (let i = laterals.length - 1; i > 0; i--) {
        const [h, w] = laterals[i - 1].shape.slice(2);
        laterals[i - 1] = laterals[i - 1].add(torch.F.interpolate(laterals[i], { size: [h, w], mode: 'nearest' }));
      }
      const used = laterals.length;
      const outs = laterals.map((l, i) => this.fpnConvs.at(i).forward(l));
      if (this.numOuts > used) {
        if (!this.addExtraConvs) {
          for (let i = used; i < this.numOuts; i++) outs.push(torch.F.maxPool2d(outs[outs.length - 1], 1, { stride: 2 }));
        } else {
          const source = this.addExtraConvs === 'on_input' ? inputs[this.backboneEndLevel - 1]
            : this.addExtraConvs === 'on_lateral' ? laterals[used - 1] : outs[used - 1];
          outs.push(this.fpnConvs.at(used).forward(source));
          for (let i = used + 1; i < this.numOuts; i++) {
            const prev = outs[outs.length - 1];
            outs.push(this.fpnConvs.at(i).forward(this.reluBeforeExtraConvs ? prev.relu() : prev));
          }
        }
      }
      return outs;
    });
  }
}
