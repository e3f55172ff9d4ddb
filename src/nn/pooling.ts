/** Pooling, resizing and dropout layers (parameter-free). */
import * as torch from '../torch';
import type { Tensor } from '../torch';
import { Module } from './module';
import type { Pair } from './conv';

export class MaxPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly opts: { stride?: Pair; padding?: Pair; dilation?: Pair; ceilMode?: boolean } = {}) {
    super();
  }
  forward(x: Tensor): Tensor {
    return torch.F.maxPool2d(x, this.kernelSize, this.opts);
  }
  override extraRepr(): string {
    return `kernelSize=${this.kernelSize}, stride=${this.opts.stride ?? this.kernelSize}, padding=${this.opts.padding ?? 0}`;
  }
}

export class AvgPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly opts: { stride?: Pair; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean; divisorOverride?: number } = {}) {
    super();
  }
  forward(x: Tensor): Tensor {
    return torch.F.avgPool2d(x, this.kernelSize, this.opts);
  }
}

/** Averages each [H, W] plane down to outputSize (1: global average pooling). */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) {
    super();
  }
  forward(x: Tensor): Tensor {
    return torch.F.adaptiveAvgPool2d(x, this.outputSize);
  }
}

/** Resizes [N, C, H, W] to size or by scaleFactor (F.interpolate). */
export class Upsample extends Module {
  constructor(readonly opts: { size?: Pair; scaleFactor?: number | [number, number]; mode?: 'nearest' | 'bilinear'; alignCorners?: boolean }) {
    super();
    if ((opts.size === undefined) === (opts.scaleFactor === undefined)) throw new TypeError('Upsample: give exactly one of size and scaleFactor');
  }
  forward(x: Tensor): Tensor {
    return torch.F.interpolate(x, this.opts);
  }
}

/** Zeroes elements with probability p in training mode (scaling the rest by 1/(1-p)); identity in eval mode. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: p must be in [0, 1], got ${p}`);
  }
  forward(x: Tensor): Tensor {
    return torch.F.dropout(x, { p: this.p, training: this.training });
  }
}

/** Zeroes whole channels with probability p in training mode (scaling the rest by 1/(1-p)); identity in eval mode. */
export class Dropout2d extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout2d: p must be in [0, 1], got ${p}`);
  }
  forward(x: Tensor): Tensor {
    return this.training ? torch.F.dropout2d(x, { p: this.p, training: true }) : x;
  }
}
