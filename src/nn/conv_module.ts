/**
 * MMCV's ConvModule (conv → norm → activation) and its norm-layer builder, with
 * MMCV's child names (`conv`, `bn` / `gn`, `activate`) so MMDetection checkpoints
 * load as they are (`neck.lateral_convs.0.conv.weight`, `...bn.running_mean`).
 */
import type { Tensor } from '../torch';
import { Module } from './module';
import { Conv2d, type Pair } from './conv';
import { BatchNorm2d, FrozenBatchNorm2d, GroupNorm, LayerNorm } from './norm';
import { SyncBatchNorm } from './sync_batchnorm';
import { buildActivationLayer, type Activation, type ActivationConfig } from './activation';
import { constantInit, kaimingInit } from './init';

/**
 * MMCV's norm config. SyncBN builds a SyncBatchNorm: BatchNorm2d in one process, batch statistics
 * over all ranks of the default process group in a distributed run.
 */
export type NormConfig =
  | { type: 'BN' | 'BN2d' | 'SyncBN'; requiresGrad?: boolean; eps?: number; momentum?: number | null }
  | { type: 'FrozenBN'; eps?: number }
  | { type: 'GN'; numGroups: number; requiresGrad?: boolean; eps?: number }
  | { type: 'LN'; requiresGrad?: boolean; eps?: number };

/** A normalization layer over [N, C, H, W]. */
export type NormLayer = BatchNorm2d | FrozenBatchNorm2d | GroupNorm | LayerNorm;

/**
 * Builds the norm layer a config names and the child name MMCV gives it: the type's
 * abbreviation plus postfix (`bn`, `bn1`, `gn`, ...). requiresGrad: false freezes its parameters.
 */
export function buildNormLayer(cfg: NormConfig, numFeatures: number, postfix: string | number = ''): [string, NormLayer] {
  let abbr: string;
  let layer: NormLayer;
  switch (cfg.type) {
    case 'BN': case 'BN2d':
      abbr = 'bn';
      layer = new BatchNorm2d(numFeatures, { eps: cfg.eps, momentum: cfg.momentum });
      break;
    case 'SyncBN':
      abbr = 'bn';
      layer = new SyncBatchNorm(numFeatures, { eps: cfg.eps, momentum: cfg.momentum });
      break;
    case 'FrozenBN':
      abbr = 'bn';
      layer = new FrozenBatchNorm2d(numFeatures, cfg.eps ?? 1e-5);
      break;
    case 'GN':
      abbr = 'gn';
      if (cfg.numGroups === undefined) throw new TypeError("buildNormLayer: a 'GN' config needs numGroups");
      layer = new GroupNorm(cfg.numGroups, numFeatures, { eps: cfg.eps });
      break;
    case 'LN':
      abbr = 'ln';
      layer = new LayerNorm(numFeatures, { eps: cfg.eps });
      break;
    default:
      throw new TypeError(`buildNormLayer: unknown norm type '${(cfg as { type: string }).type}' (BN, SyncBN, FrozenBN, GN, LN)`);
  }
  if ('requiresGrad' in cfg && cfg.requiresGrad === false) layer.requiresGrad_(false);
  return [`${abbr}${postfix}`, layer];
}

export type ConvModuleOrder = readonly ['conv', 'norm', 'act'] | readonly ['act', 'conv', 'norm'] | readonly ['norm', 'act', 'conv'];

export interface ConvModuleOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  /** 'auto' (default): a bias only when no norm layer follows. */
  bias?: boolean | 'auto';
  normCfg?: NormConfig | null;
  /** Default { type: 'ReLU' }; null for none. */
  actCfg?: ActivationConfig | null;
  /** In-place activation where the type allows it (MMCV default true). */
  inplace?: boolean;
  order?: ConvModuleOrder;
}

/** conv → norm → activation (order configurable), initialized as MMCV's ConvModule.init_weights. */
export class ConvModule extends Module {
  readonly conv: Conv2d;
  readonly norm: NormLayer | null;
  /** The norm child's name: 'bn', 'gn', ... (null without norm). */
  readonly normName: string | null;
  readonly activate: Activation | null;
  readonly order: ConvModuleOrder;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: ConvModuleOptions = {}) {
    super();
    const normCfg = opts.normCfg ?? null;
    const actCfg = opts.actCfg === undefined ? { type: 'ReLU' as const } : opts.actCfg;
    this.order = opts.order ?? ['conv', 'norm', 'act'];
    const bias = opts.bias === undefined || opts.bias === 'auto' ? normCfg === null : opts.bias;

    this.conv = this.registerModule('conv', new Conv2d(inChannels, outChannels, kernelSize, {
      stride: opts.stride, padding: opts.padding, dilation: opts.dilation, groups: opts.groups, bias,
    }));
    if (normCfg) {
      const normChannels = this.order.indexOf('norm') > this.order.indexOf('conv') ? outChannels : inChannels;
      const [name, norm] = buildNormLayer(normCfg, normChannels);
      this.normName = name;
      this.norm = this.registerModule(name, norm);
    } else {
      this.normName = null;
      this.norm = null;
    }
    if (actCfg) {
      // In place only on our own intermediates: an activation that comes first would rewrite the caller's input.
      const inplace = (opts.inplace ?? true) && this.order[0] !== 'act';
      const cfg = actCfg.type === 'ReLU' ? { ...actCfg, inplace: actCfg.inplace ?? inplace } : actCfg;
      this.activate = this.registerModule('activate', buildActivationLayer(cfg));
    } else {
      this.activate = null;
    }

    // MMCV's init_weights: kaiming normal (fan_out) for the conv, ones/zeros for the norm.
    const leaky = actCfg?.type === 'LeakyReLU';
    kaimingInit(this.conv, {
      a: leaky ? (actCfg as { negativeSlope?: number }).negativeSlope ?? 0.01 : 0,
      nonlinearity: leaky ? 'leaky_relu' : 'relu',
    });
    if (this.norm) constantInit(this.norm, 1, 0);
  }

  /** Runs the layers in order; activate / norm false skip those steps (as MMCV's forward arguments). */
  forward(x: Tensor, opts: { activate?: boolean; norm?: boolean } = {}): Tensor {
    // Intermediates are kept alive only as long as needed: the first step's output is
    // ours to free once the next step has consumed it (in-place ReLU returns its input).
    let y = x;
    for (const step of this.order) {
      let next: Tensor | null = null;
      if (step === 'conv') next = this.conv.forward(y);
      else if (step === 'norm' && this.norm && (opts.norm ?? true)) next = this.norm.forward(y);
      else if (step === 'act' && this.activate && (opts.activate ?? true)) next = this.activate.forward(y);
      if (next === null) continue;
      if (y !== x && next !== y) y.dispose();
      y = next;
    }
    return y;
  }
}
