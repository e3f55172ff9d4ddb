/** Gradient-mode scopes (torch.no_grad / torch.enable_grad). */
import { native } from './native';
import { boolArg, fnArg } from './args';

function withGradMode<T>(name: string, enabled: boolean, fn: () => T): T {
  fnArg(name, 'fn', fn);
  const prev = native.isGradEnabled();
  native.setGradEnabled(enabled);
  try {
    const r = fn();
    if (r instanceof Promise) throw new Error('noGrad/enableGrad: fn must be synchronous (grad mode is thread-local state)');
    return r;
  } finally {
    native.setGradEnabled(prev);
  }
}

/** Runs fn without recording operations for autograd. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode('noGrad', false, fn);
}

/** Runs fn with autograd recording on (inside a noGrad scope, for example). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode('enableGrad', true, fn);
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

export function setGradEnabled(enabled: boolean): void {
  native.setGradEnabled(boolArg('setGradEnabled', 'enabled', enabled));
}
