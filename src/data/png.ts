/**
 * Label-map PNG reading: the raw sample values of greyscale (colour type 0) and palette
 * (colour type 3) PNGs, as PIL's `np.array(Image.open(f))` gives them for palette files
 * (MMSegmentation's `imfrombytes(flag='unchanged', backend='pillow')`). libvips would expand
 * a palette to RGB and lose the class indices, so these files are decoded here: chunks
 * checked (lengths and CRCs), IDAT inflated with node:zlib, scanlines unfiltered and
 * unpacked in TypeScript. Adam7-interlaced files are supported.
 */
import { inflateSync } from 'node:zlib';
import { ImageDecodeError } from './image';

/** A decoded greyscale or palette PNG: one value per pixel, row-major. */
export interface LabelPng {
  width: number;
  height: number;
  /** 0 = greyscale, 3 = palette. */
  colorType: 0 | 3;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  /**
   * Palette indices, or grey samples as stored (a 4-bit grey 15 stays 15, not scaled to 255);
   * Uint16Array for 16-bit greyscale.
   */
  data: Uint8Array | Uint16Array;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
/** Adam7 passes: [xStart, yStart, xStep, yStep]. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
/** A non-interlaced image: one pass over every pixel. */
const SEQUENTIAL = [[0, 0, 1, 1]];

let crcTable: Uint32Array | undefined;
function crc32(bytes: Uint8Array, start: number, end: number): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Decodes a greyscale or palette PNG to its raw values. Returns undefined when `bytes` is
 * not a PNG or is another colour type (RGB, grey+alpha, RGBA: decode those with sharp).
 * A truncated or corrupt file throws an ImageDecodeError naming `file` and the fault.
 */
export function readLabelPng(bytes: Uint8Array, file: string): LabelPng | undefined {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) return undefined;
  const fail = (msg: string): never => {
    throw new ImageDecodeError(file, new Error(msg));
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const typeAt = (p: number) => String.fromCharCode(bytes[p], bytes[p + 1], bytes[p + 2], bytes[p + 3]);
  if (bytes.length < 33) fail(`truncated PNG: ${bytes.length} bytes, too short for the IHDR chunk`);
  if (typeAt(12) !== 'IHDR' || view.getUint32(8) !== 13) fail('corrupt PNG: the first chunk is not a 13-byte IHDR');
  const colorType = bytes[25];
  if (colorType !== 0 && colorType !== 3) return undefined;
  const width = view.getUint32(16), height = view.getUint32(20), bitDepth = bytes[24];
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) fail(`corrupt PNG: size ${width}x${height}`);
  const depths = colorType === 0 ? [1, 2, 4, 8, 16] : [1, 2, 4, 8];
  if (!depths.includes(bitDepth)) fail(`corrupt PNG: bit depth ${bitDepth} is invalid for colour type ${colorType}`);
  if (bytes[26] !== 0 || bytes[27] !== 0) fail(`corrupt PNG: unknown compression method ${bytes[26]} or filter method ${bytes[27]}`);
  if (bytes[28] > 1) fail(`corrupt PNG: unknown interlace method ${bytes[28]}`);

  // Walk the chunks: every length within the file, every CRC right, IDATs gathered, IEND last.
  const idat: Uint8Array[] = [];
  let pos = 8;
  for (;;) {
    if (pos + 8 > bytes.length) fail(`truncated PNG: file ends at byte ${bytes.length} before the IEND chunk`);
    const len = view.getUint32(pos), type = typeAt(pos + 4);
    const end = pos + 12 + len;
    if (len > 0x7fffffff || end > bytes.length) fail(`truncated PNG: ${type} chunk at byte ${pos} (${len} data bytes) runs past the end of the file at byte ${bytes.length}`);
    const stored = view.getUint32(end - 4), computed = crc32(bytes, pos + 4, end - 4);
    if (stored !== computed) fail(`corrupt PNG: CRC mismatch in ${type} chunk at byte ${pos} (stored ${hex(stored)}, computed ${hex(computed)})`);
    if (type === 'IDAT') idat.push(bytes.subarray(pos + 8, end - 4));
    pos = end;
    if (type === 'IEND') break;
  }
  if (idat.length === 0) fail('corrupt PNG: no IDAT chunk');
  let raw: Buffer;
  try {
    raw = inflateSync(idat.length === 1 ? idat[0] : Buffer.concat(idat));
  } catch (err) {
    return fail(`corrupt PNG: cannot inflate the image data (${(err as Error).message})`);
  }

  const interlaced = bytes[28] === 1;
  const passes = (interlaced ? ADAM7 : SEQUENTIAL).map(([x0, y0, dx, dy]) => {
    const w = Math.ceil((width - x0) / dx), h = Math.ceil((height - y0) / dy);
    return { x0, y0, dx, dy, w, h, rowBytes: Math.ceil((w * bitDepth) / 8) };
  });
  const expected = passes.reduce((n, p) => (p.w > 0 && p.h > 0 ? n + p.h * (p.rowBytes + 1) : n), 0);
  if (raw.length < expected) fail(`corrupt PNG: image data inflates to ${raw.length} bytes, expected ${expected}`);

  const bpp = bitDepth === 16 ? 2 : 1; // bytes per complete pixel, for the Sub/Average/Paeth filters
  const data = bitDepth === 16 ? new Uint16Array(width * height) : new Uint8Array(width * height);
  let off = 0;
  for (const [k, { x0, y0, dx, dy, w, h, rowBytes }] of passes.entries()) {
    if (w <= 0 || h <= 0) continue; // an empty Adam7 pass has no scanlines
    for (let r = 0; r < h; r++, off += rowBytes + 1) {
      const filter = raw[off];
      if (filter > 4) fail(`corrupt PNG: unknown filter type ${filter} on scanline ${r}${interlaced ? ` of Adam7 pass ${k + 1}` : ''}`);
      unfilter(raw, off + 1, r > 0 ? off - rowBytes : -1, rowBytes, bpp, filter);
      unpack(raw, off + 1, w, bitDepth, data, (y0 + r * dy) * width + x0, dx);
    }
  }
  return { width, height, colorType, bitDepth: bitDepth as LabelPng['bitDepth'], data };
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** Reverses a scanline's filter in place; `prev` is the unfiltered previous row's start, or -1 for none. */
function unfilter(b: Uint8Array, cur: number, prev: number, n: number, bpp: number, filter: number): void {
  switch (filter) {
    case 1: // Sub
      for (let i = bpp; i < n; i++) b[cur + i] = (b[cur + i] + b[cur + i - bpp]) & 0xff;
      break;
    case 2: // Up
      if (prev >= 0) for (let i = 0; i < n; i++) b[cur + i] = (b[cur + i] + b[prev + i]) & 0xff;
      break;
    case 3: // Average
      for (let i = 0; i < n; i++) {
        const left = i >= bpp ? b[cur + i - bpp] : 0, up = prev >= 0 ? b[prev + i] : 0;
        b[cur + i] = (b[cur + i] + ((left + up) >> 1)) & 0xff;
      }
      break;
    case 4: // Paeth
      for (let i = 0; i < n; i++) {
        const a = i >= bpp ? b[cur + i - bpp] : 0, up = prev >= 0 ? b[prev + i] : 0, c = i >= bpp && prev >= 0 ? b[prev + i - bpp] : 0;
        const p = a + up - c, pa = Math.abs(p - a), pb = Math.abs(p - up), pc = Math.abs(p - c);
        b[cur + i] = (b[cur + i] + (pa <= pb && pa <= pc ? a : pb <= pc ? up : c)) & 0xff;
      }
      break;
  }
}

/** Writes `count` samples of an unfiltered scanline to out[at], out[at + step], ... */
function unpack(b: Uint8Array, src: number, count: number, depth: number, out: Uint8Array | Uint16Array, at: number, step: number): void {
  if (depth === 8) {
    for (let i = 0; i < count; i++) out[at + i * step] = b[src + i];
  } else if (depth === 16) {
    for (let i = 0; i < count; i++) out[at + i * step] = (b[src + 2 * i] << 8) | b[src + 2 * i + 1];
  } else {
    const perByte = 8 / depth, mask = (1 << depth) - 1;
    for (let i = 0; i < count; i++) {
      const shift = 8 - depth * ((i % perByte) + 1);
      out[at + i * step] = (b[src + Math.floor(i / perByte)] >> shift) & mask;
    }
  }
}
