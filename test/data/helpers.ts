/** Small fixtures for the data-pipeline tests. */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import type { Sample } from '../../src/data/sample';

/** A fresh temporary folder; remove it with `fs.rm(dir, { recursive: true })`. */
export function tempDir(tag: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `tsvision-${tag}-`));
}

/** A w x h RGB image whose left half is red and right half blue. */
export function halfImage(w: number, h: number): Uint8Array {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(x < w / 2 ? [255, 0, 0] : [0, 0, 255], (y * w + x) * 3);
  return data;
}

/** Encodes raw RGB as PNG bytes. */
export async function pngBytes(data: Uint8Array, w: number, h: number, channels = 3): Promise<Uint8Array> {
  return new Uint8Array(await sharp(data, { raw: { width: w, height: h, channels: channels as 3 } }).png().toBuffer());
}

/** A decoded sample with the given pixels and targets (no file behind it). */
export function rawSample(data: Uint8Array, w: number, h: number, targets: Sample['targets'] = {}): Sample {
  return {
    img: { data, width: w, height: h, channels: 3, layout: 'hwc', order: 'rgb' },
    meta: { imgId: 1, imgPath: 'mem.png', oriShape: [h, w], imgShape: [h, w], padShape: [h, w], scaleFactor: [1, 1], flip: false, flipDirection: null },
    targets,
  };
}

/** The same sample, but with a pending (not yet decoded) PNG, as LoadImage leaves it. */
export async function pendingSample(data: Uint8Array, w: number, h: number, targets: Sample['targets'] = {}): Promise<Sample> {
  const s = rawSample(new Uint8Array(0), w, h, targets);
  s.pending = { bytes: await pngBytes(data, w, h), path: 'mem.png', flop: false, interpolation: 'bilinear' };
  return s;
}

/** Approximate equality of number arrays. */
export function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-4): boolean {
  if (actual.length !== expected.length) return false;
  for (let i = 0; i < actual.length; i++) if (Math.abs(actual[i] - expected[i]) > tol) return false;
  return true;
}
