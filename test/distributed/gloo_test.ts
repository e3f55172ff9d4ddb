/**
 * node:test's test() for the cases that need c10d's Gloo backend: skipped, saying why, where this
 * build of the addon has none (a build against a pip PyTorch without GLOO_INCLUDE, whose wheel
 * ships no Gloo headers; scripts/check-pip-torch.sh), instead of failing there.
 */
import { test, type TestContext, type TestOptions } from 'node:test';
import { isBackendAvailable } from '../../src/distributed';

export const noGloo: string | false = isBackendAvailable('gloo')
  ? false
  : "this build of the addon has no c10d Gloo backend (gloo/config.h was not under libtorch's include directories at build time)";

type Fn = (t: TestContext) => void | Promise<void>;

export function glooTest(name: string, optsOrFn: TestOptions | Fn, maybeFn?: Fn): Promise<void> {
  const [opts, fn] = typeof optsOrFn === 'function' ? [{}, optsOrFn] : [optsOrFn, maybeFn!];
  return test(name, { ...opts, skip: opts.skip || noGloo }, fn);
}
