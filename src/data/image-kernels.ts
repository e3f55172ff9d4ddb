/**
 * Native image kernels (native/image/, built into build/tsvision_image.node): a small
 * Node-API addon that does not link libtorch, so every loader worker thread loads it
 * cheaply. Loaded on first use; arguments are checked here, before any native call.
 */
import * as path from 'node:path';

interface ImageKernels {
  resizeNormalize(
    src: Uint8Array, w: number, h: number, dst: Float32Array, rows: number, cols: number, nw: number, nh: number,
    flip: boolean, srcChannel: readonly number[], mean: readonly number[], std: readonly number[], padValue: number,
  ): void;
}

let kernels: ImageKernels | undefined;

function load(): ImageKernels {
  const file = process.env.TSVISION_IMAGE_NATIVE ?? path.resolve(__dirname, '..', '..', '..', 'build', 'tsvision_image.node');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as ImageKernels;
  } catch (err) {
    throw new Error(`tsvision: cannot load the image kernels ${file} (${(err as Error).message.split('\n')[0]}); run \`npm run build:native\``);
  }
}

export interface ResizeNormalizeOptions {
  /** Mirror horizontally (output column x samples where column nw - 1 - x would). */
  flop?: boolean;
  /** Per output channel. */
  mean: readonly number[];
  std: readonly number[];
  /** The source channel each output channel reads ([2, 1, 0] swaps RGB and BGR). Default [0, 1, 2]. */
  srcChannel?: readonly number[];
  /** [rows, cols] of each output plane, at least [nh, nw]: the image goes top-left, the rest is padValue. */
  planeShape?: [number, number];
  padValue?: number;
}

const isSize = (v: number) => Number.isInteger(v) && v >= 1 && v <= 2 ** 30;
const isTriple = (a: readonly number[] | undefined, ok: (v: number) => boolean) => a !== undefined && a.length === 3 && a.every(ok);

/**
 * Bilinear resize of an interleaved 3-channel uint8 w x h image to nw x nh, optional horizontal
 * flip and per-channel (v - mean) / std, in one pass to planar CHW float32. The resize is
 * byte-for-byte OpenCV's cv2.resize(INTER_LINEAR) on uint8 (mmcv.imresize, as MMDetection's
 * Resize; its fixed-point arithmetic, test/fixtures/cv2_resize), the flip mirrors the resized
 * image (mmdet's RandomFlip after Resize), and the normalization is a float32 subtraction and
 * division, as torch does on the float32 batch: the result equals MMDetection's preprocessed
 * input exactly. nw = w, nh = h is a plain normalize (cv2 copies).
 */
export function resizeNormalizeChw(src: Uint8Array, w: number, h: number, nw: number, nh: number, opts: ResizeNormalizeOptions): Float32Array {
  const [rows, cols] = opts.planeShape ?? [nh, nw];
  const srcChannel = opts.srcChannel ?? [0, 1, 2];
  const padValue = opts.padValue ?? 0;
  const fail = (what: string) => new Error(`resizeNormalizeChw: ${what}`);
  if (![w, h, nw, nh, rows, cols].every(isSize)) throw fail(`sizes must be positive integers (got ${w}x${h} -> ${nw}x${nh} in planes ${rows}x${cols})`);
  if (!(src instanceof Uint8Array) || src.length !== w * h * 3) throw fail(`src must be a Uint8Array of ${w}x${h}x3 = ${w * h * 3} bytes, got ${src?.length}`);
  if (rows < nh || cols < nw) throw fail(`planes ${rows}x${cols} are smaller than the ${nh}x${nw} image`);
  if (!isTriple(srcChannel, (c) => c === 0 || c === 1 || c === 2)) throw fail(`srcChannel must be 3 indices in 0..2, got [${srcChannel}]`);
  if (!isTriple(opts.mean, Number.isFinite) || !isTriple(opts.std, (s) => Number.isFinite(s) && s > 0)) {
    throw fail(`mean must be 3 finite numbers and std 3 positive ones, got [${opts.mean}] and [${opts.std}]`);
  }
  if (typeof padValue !== 'number' || Number.isNaN(padValue)) throw fail(`padValue must be a number, got ${padValue}`);
  // The kernel writes every value, so the buffer need not be zeroed first (a 10 MB memset).
  const bytes = Buffer.allocUnsafeSlow(3 * rows * cols * 4);
  const out = new Float32Array(bytes.buffer, bytes.byteOffset, 3 * rows * cols);
  kernels ??= load();
  kernels.resizeNormalize(src, w, h, out, rows, cols, nw, nh, opts.flop === true, [...srcChannel], [...opts.mean], [...opts.std], padValue);
  return out;
}
