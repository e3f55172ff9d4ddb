/** Activation layers (parameter-free): ReLU and friends, as torch.nn and MMCV name them. */
import * as torch from '../torch';
import type { Tensor } from '../torch';
import { Module } from './module';

/** max(x, 0); inplace rewrites the input (safe on intermediates, as MMCV's ConvModule does). */
export class ReLU extends Module {
  constructor(readonly inplace = false) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.inplace ? x.relu_() : torch.F.relu(x);
  }
}

export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return torch.F.leakyRelu(x, this.negativeSlope);
  }
  override extraRepr(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}

/** min(max(x, 0), 6). */
export class ReLU6 extends Module {
  forward(x: Tensor): Tensor {
    return x.clamp({ min: 0, max: 6 });
  }
}

export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
  }
  forward(x: Tensor): Tensor {
    return torch.F.gelu(x, { approximate: this.approximate });
  }
}

/** x · sigmoid(x) (also called Swish). */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return torch.F.silu(x);
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

/** relu6(x + 3) / 6, as torch.nn.Hardsigmoid. */
export class Hardsigmoid extends Module {
  forward(x: Tensor): Tensor {
    return torch.F.hardsigmoid(x);
  }
}

/** x · relu6(x + 3) / 6. */
export class Hardswish extends Module {
  forward(x: Tensor): Tensor {
    return torch.F.hardswish(x);
  }
}

/** MMCV's HSigmoid: clamp((x + bias) / divisor, minValue, maxValue); the defaults equal Hardsigmoid. */
export class HSigmoid extends Module {
  constructor(readonly opts: { bias?: number; divisor?: number; minValue?: number; maxValue?: number } = {}) {
    super();
    if ((opts.divisor ?? 6) === 0) throw new RangeError('HSigmoid: divisor must be non-zero');
  }
  forward(x: Tensor): Tensor {
    const { bias = 3, divisor = 6, minValue = 0, maxValue = 1 } = this.opts;
    return torch.tidy(() => x.add(bias).div(divisor).clamp({ min: minValue, max: maxValue }));
  }
}

export class ELU extends Module {
  constructor(readonly alpha = 1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return torch.F.elu(x, this.alpha);
  }
}

/** Returns its input unchanged (the same tensor, not a copy). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** MMCV's activation config: `{ type: 'ReLU' }`, `{ type: 'LeakyReLU', negativeSlope: 0.1 }`, ... */
export type ActivationConfig =
  | { type: 'ReLU'; inplace?: boolean }
  | { type: 'LeakyReLU'; negativeSlope?: number }
  | { type: 'ReLU6' }
  | { type: 'GELU'; approximate?: 'none' | 'tanh' }
  | { type: 'SiLU' } | { type: 'Swish' }
  | { type: 'Sigmoid' } | { type: 'Tanh' }
  | { type: 'Hardsigmoid' } | { type: 'HSigmoid'; bias?: number; divisor?: number }
  | { type: 'Hardswish' } | { type: 'HSwish' }
  | { type: 'ELU'; alpha?: number };

/** A tensor → tensor activation module. */
export type Activation = Module & { forward(x: Tensor): Tensor };

/** Builds the activation a config names (MMCV's build_activation_layer). */
export function buildActivationLayer(cfg: ActivationConfig): Activation {
  switch (cfg.type) {
    case 'ReLU': return new ReLU(cfg.inplace ?? false);
    case 'LeakyReLU': return new LeakyReLU(cfg.negativeSlope ?? 0.01);
    case 'ReLU6': return new ReLU6();
    case 'GELU': return new GELU(cfg.approximate ?? 'none');
    case 'SiLU': case 'Swish': return new SiLU();
    case 'Sigmoid': return new Sigmoid();
    case 'Tanh': return new Tanh();
    case 'Hardsigmoid': return new Hardsigmoid();
    case 'HSigmoid': return new HSigmoid({ bias: cfg.bias, divisor: cfg.divisor });
    case 'Hardswish': case 'HSwish': return new Hardswish();
    case 'ELU': return new ELU(cfg.alpha ?? 1);
    default: throw new TypeError(`buildActivationLayer: unknown activation type '${(cfg as { type: string }).type}'`);
  }
}
