/**
 * MMEngine-style paramwise options: parameter groups built from a model by
 * parameter name (DefaultOptimWrapperConstructor's paramwise_cfg), e.g. no weight
 * decay on norms and biases, a smaller lr for the backbone.
 */
import type { Tensor } from '../torch';
import { Conv2d } from '../nn/conv';
import { isNormLayer } from '../nn/norm';
import type { Module } from '../nn/module';
import type { BaseOptions, ParamGroupInput } from './optimizer';

/** Multipliers for parameters whose full name contains a key. */
export interface CustomKeyOptions {
  lrMult?: number;
  decayMult?: number;
}

export interface ParamwiseOptions {
  lr: number;
  weightDecay?: number;
  /** Weight decay multiplier of normalization layers' weight and bias. */
  normDecayMult?: number;
  /** Weight decay multiplier of biases (except norm biases). */
  biasDecayMult?: number;
  /** lr multiplier of biases (except norm biases). */
  biasLrMult?: number;
  /** Weight decay multiplier of depth-wise convolutions (groups = inChannels). */
  dwconvDecayMult?: number;
  /**
   * Options by name substring (`{ backbone: { lrMult: 0.1 } }`). The longest key that
   * occurs in a parameter's name wins (ties: alphabetical) and the other rules are skipped.
   */
  custom?: Record<string, CustomKeyOptions>;
}

/**
 * Groups a model's parameters by their computed (lr, weightDecay), as MMEngine's
 * DefaultOptimWrapperConstructor decides them per parameter; parameters with the
 * same options share a group (first-appearance order), and each group lists its
 * parameter names. Frozen parameters (requiresGrad false) get the base options.
 */
export function buildParamGroups(model: Module, opts: ParamwiseOptions): ParamGroupInput<BaseOptions>[] {
  const baseWd = opts.weightDecay ?? 0;
  const customKeys = Object.keys(opts.custom ?? {}).sort().sort((a, b) => b.length - a.length);
  const groups = new Map<string, { params: Tensor[]; names: string[]; lr: number; weightDecay: number }>();
  const seen = new Set<Tensor>();

  for (const [prefix, m] of model.namedModules()) {
    const isNorm = isNormLayer(m);
    const isDwconv = m instanceof Conv2d && m.inChannels === m.groups;
    for (const [name, p] of m.namedParameters({ recurse: false })) {
      if (seen.has(p)) continue;
      seen.add(p);
      const fullName = prefix ? `${prefix}.${name}` : name;
      let lr = opts.lr;
      let wd = baseWd;
      if (p.requiresGrad) {
        // MMEngine matches keys against `${prefix}.${name}`, so a key may also match across the dot.
        const key = customKeys.find((k) => `${prefix}.${name}`.includes(k));
        if (key !== undefined) {
          const c = opts.custom![key];
          lr = opts.lr * (c.lrMult ?? 1);
          wd = baseWd * (c.decayMult ?? 1);
        } else {
          if (name === 'bias' && !isNorm && opts.biasLrMult !== undefined) lr = opts.lr * opts.biasLrMult;
          if (isNorm && opts.normDecayMult !== undefined) wd = baseWd * opts.normDecayMult;
          else if (name === 'bias' && opts.biasDecayMult !== undefined) wd = baseWd * opts.biasDecayMult;
          else if (isDwconv && opts.dwconvDecayMult !== undefined) wd = baseWd * opts.dwconvDecayMult;
        }
      }
      const k = `${lr}|${wd}`;
      let g = groups.get(k);
      if (!g) {
        g = { params: [], names: [], lr, weightDecay: wd };
        groups.set(k, g);
      }
      g.params.push(p);
      g.names.push(fullName);
    }
  }
  return [...groups.values()];
}
