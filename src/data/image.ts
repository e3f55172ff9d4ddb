/**
 * Image decoding with sharp (libvips): JPEG/PNG/WebP, EXIF orientation applied, grey and
 * alpha images normalized to 3-channel RGB or BGR.
 *
 * Decoding is lazy on purpose: LoadImage reads only the header, Resize and horizontal flips
 * are recorded, and the first transform that needs pixels decodes with those operations
 * folded into one libvips pipeline (JPEG shrink-on-load, no intermediate full-size buffer).
 */
import sharp from 'sharp';
import type { ImageData, Sample } from './sample';

/** A file that could not be decoded; the message names it. */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
  constructor(readonly path: string, cause: unknown) {
    super(`${path}: cannot decode image: ${(cause as Error)?.message ?? cause}`);
  }
}

/** Geometry recorded on a not-yet-decoded image. */
export interface PendingDecode {
  bytes: Uint8Array;
  path: string;
  /** Target [w, h]; undefined keeps the file's size. */
  resize?: [number, number];
  flop: boolean;
  interpolation: Interpolation;
}

export type Interpolation = 'nearest' | 'bilinear' | 'bicubic' | 'lanczos';
/** The libvips kernel for each interpolation name. */
export const KERNELS: Record<Interpolation, keyof sharp.KernelEnum> = { nearest: 'nearest', bilinear: 'linear', bicubic: 'cubic', lanczos: 'lanczos3' };

/** Width and height of an encoded image after EXIF orientation, from its header only. */
export async function imageSize(bytes: Uint8Array, path: string): Promise<{ width: number; height: number }> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch (err) {
    throw new ImageDecodeError(path, err);
  }
  if (!meta.width || !meta.height) throw new ImageDecodeError(path, new Error('no image size in header'));
  // Orientations 5-8 rotate by 90 degrees: width and height swap.
  const swap = (meta.orientation ?? 1) >= 5;
  return swap ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
}

/** Decodes to 3-channel uint8 HWC in `order`, applying orientation, then optional resize and flop. */
export async function decodeImage(p: PendingDecode, order: 'rgb' | 'bgr'): Promise<ImageData> {
  let pipeline = sharp(p.bytes, { failOn: 'truncated' }).rotate();
  if (p.resize) pipeline = pipeline.resize(p.resize[0], p.resize[1], { fit: 'fill', kernel: KERNELS[p.interpolation] });
  if (p.flop) pipeline = pipeline.flop();
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await pipeline.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new ImageDecodeError(p.path, err);
  }
  const { width, height, channels } = out.info;
  if (channels !== 3) throw new ImageDecodeError(p.path, new Error(`decoded to ${channels} channels, expected 3`));
  // sharp's Buffer may live in Node's shared pool; copy only when it does, so the result owns
  // (and can transfer) its ArrayBuffer.
  const buf = out.data;
  const data = buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength ? new Uint8Array(buf.buffer, 0, buf.byteLength) : new Uint8Array(buf);
  if (order === 'bgr') swapRedBlue(data);
  return { data, height, width, channels: 3, layout: 'hwc', order };
}

/** Swaps channels 0 and 2 of an interleaved 3-channel image in place. */
export function swapRedBlue(data: Uint8Array | Float32Array): void {
  for (let i = 0; i < data.length; i += 3) {
    const t = data[i];
    data[i] = data[i + 2];
    data[i + 2] = t;
  }
}

/** Decodes the sample's pending image (if any) so transforms can touch pixels. */
export async function ensureDecoded(sample: Sample): Promise<ImageData> {
  if (sample.pending) {
    sample.img = await decodeImage(sample.pending, sample.img.order);
    sample.pending = undefined;
  }
  return sample.img;
}

/** Encodes an RGB uint8 HWC image as PNG (for browse-dataset and tests). */
export async function encodePng(img: { data: Uint8Array; width: number; height: number; channels?: number }): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: (img.channels ?? 3) as 3 } }).png().toBuffer();
}

/** Decodes at the file's own size, without resize or flip (for fused transforms). */
export async function decodeOriginal(p: PendingDecode, order: 'rgb' | 'bgr'): Promise<ImageData> {
  return decodeImage({ ...p, resize: undefined, flop: false }, order);
}
