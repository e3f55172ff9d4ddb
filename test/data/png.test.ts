/**
 * Label-map PNGs (src/data/png.ts and loadSegMap). No recorded fixtures: every file is made
 * in the test. PIL (Debian's python3-pil, run through the reference python) writes palette,
 * greyscale and 16-bit PNGs; an encoder here (zlib + chunk CRCs) writes PNGs with each
 * filter type, since PIL never filters palette images; sharp (libspng) writes Adam7-interlaced
 * ones. PIL decodes all of them, and its np.array(Image.open(f)) is the expected value.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as zlib from 'node:zlib';
import sharp from 'sharp';
import { LocalBackend } from '../../src/data/backends';
import { SegmentationDataset, type SegmentationOptions } from '../../src/data/datasets/segmentation';
import { ImageDecodeError } from '../../src/data/image';
import { loadSample, loadSegMap } from '../../src/data/load';
import { readLabelPng } from '../../src/data/png';
import { hasReference, NO_REFERENCE, python } from '../helpers/reference';
import { pngBytes, tempDir } from './helpers';

const skip = hasReference() ? false : NO_REFERENCE;

/** What PIL reports for a file: its mode, [w, h] and np.array(...) flattened. */
interface PilRead { mode: string; size: [number, number]; values: number[] }
/** A PNG for PIL to write: random values (or the given ones) in mode P (with `bits`), L or I;16. */
interface PilMake { mode: 'P' | 'L' | 'I;16'; w: number; h: number; bits?: 1 | 2 | 4 | 8; seed: number; values?: number[] }

const PIL_SCRIPT = `
import base64, io
import numpy as np
from PIL import Image

def read(d):
    im = Image.open(io.BytesIO(d))
    return {'mode': im.mode, 'size': list(im.size), 'values': np.array(im).astype(np.int64).ravel().tolist()}

def voc_palette():
    pal = []
    for i in range(256):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j); g |= ((c >> 1) & 1) << (7 - j); b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal += [r, g, b]
    return pal

made = []
for s in inp['make']:
    w, h, mode = s['w'], s['h'], s['mode']
    rng = np.random.RandomState(s['seed'])
    yy, xx = np.mgrid[0:h, 0:w]
    kw = {}
    if s.get('values') is not None:
        a = np.array(s['values']).reshape(h, w)
    elif mode == 'P':
        a = rng.randint(0, 2 ** s['bits'], (h, w))
    elif mode == 'L':  # smooth plus noise, so PIL's adaptive filtering picks several filters
        a = (xx * 3 + yy * 5 + rng.randint(0, 4, (h, w))) % 256
    else:
        a = (xx * 700 + yy * 1300 + rng.randint(0, 300, (h, w))) % 65536
    if mode == 'P':
        im = Image.fromarray(a.astype(np.uint8), 'P')
        im.putpalette(voc_palette())
        if s['bits'] < 8:
            kw['bits'] = s['bits']
    elif mode == 'L':
        im = Image.fromarray(a.astype(np.uint8))
    else:
        im = Image.fromarray(a.astype(np.uint16))
    f = io.BytesIO()
    im.save(f, 'PNG', **kw)
    d = f.getvalue()
    made.append(dict(read(d), png=base64.b64encode(d).decode()))
out = {'made': made, 'read': [read(base64.b64decode(x)) for x in inp['read']]}
`;

// ---- A small PNG encoder for crafted files (any filter per row, any damage) ----

interface Craft {
  width: number;
  height: number;
  colorType: 0 | 3;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  values: number[];
  /** Filter type of row r: filters[r % filters.length]. */
  filters: number[];
  /** Changes the deflated image data (to make corrupt files with right CRCs). */
  damage?: (z: Buffer) => Buffer;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(zlib.crc32(body), body.length + 4);
  return out;
}

function packRow(values: number[], depth: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((values.length * depth) / 8));
  values.forEach((v, i) => {
    if (depth === 16) out.set([v >> 8, v & 255], 2 * i);
    else out[Math.floor((i * depth) / 8)] |= v << (8 - depth - ((i * depth) % 8));
  });
  return out;
}

function filterRow(f: number, row: Uint8Array, prior: Uint8Array | undefined, bpp: number): Uint8Array {
  const out = new Uint8Array(row.length + 1);
  out[0] = f;
  for (let i = 0; i < row.length; i++) {
    const a = i >= bpp ? row[i - bpp] : 0, b = prior ? prior[i] : 0, c = i >= bpp && prior ? prior[i - bpp] : 0;
    const p = a + b - c;
    const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
    const pred = [0, a, b, (a + b) >> 1, paeth][f] ?? 0;
    out[i + 1] = (row[i] - pred) & 255;
  }
  return out;
}

function craftPng(c: Craft): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(c.width, 0);
  ihdr.writeUInt32BE(c.height, 4);
  ihdr.set([c.bitDepth, c.colorType, 0, 0, 0], 8);
  const rows: Uint8Array[] = [];
  let prior: Uint8Array | undefined;
  for (let r = 0; r < c.height; r++) {
    const row = packRow(c.values.slice(r * c.width, (r + 1) * c.width), c.bitDepth);
    rows.push(filterRow(c.filters[r % c.filters.length], row, prior, c.bitDepth === 16 ? 2 : 1));
    prior = row;
  }
  let z: Buffer = zlib.deflateSync(Buffer.concat(rows));
  if (c.damage) z = c.damage(z);
  const half = z.length >> 1; // two IDAT chunks, to check they are concatenated
  const plte = c.colorType === 3 ? [chunk('PLTE', new Uint8Array(3 << c.bitDepth).map((_, i) => i))] : [];
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), ...plte, chunk('IDAT', z.subarray(0, half)), chunk('IDAT', z.subarray(half)), chunk('IEND', new Uint8Array(0))]);
}

/** Deterministic pseudo-random values in [0, 2^depth). */
function values(n: number, depth: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) % 2 ** depth;
  });
}

const craftSpec = (width: number, height: number, colorType: 0 | 3, bitDepth: Craft['bitDepth'], filters: number[], seed = 1): Craft => ({ width, height, colorType, bitDepth, filters, values: values(width * height, bitDepth, seed) });
const CRAFTED: Craft[] = [
  ...[0, 1, 2, 3, 4].map((f) => craftSpec(13, 9, 3, 8, [f], f)),
  craftSpec(13, 9, 3, 8, [0, 1, 2, 3, 4]),
  { ...craftSpec(17, 9, 3, 8, [4, 3]), values: values(17 * 9, 2, 9) }, // few values: Paeth ties
  craftSpec(7, 6, 3, 4, [4, 3, 2, 1, 0]),
  craftSpec(5, 7, 3, 2, [1, 3, 4, 2, 0]),
  craftSpec(9, 5, 3, 1, [2, 4, 3, 1, 0]),
  craftSpec(7, 5, 0, 16, [0, 1, 2, 3, 4]),
  craftSpec(1, 5, 0, 8, [4, 3, 2, 1, 0]),
];

/** Adam7-interlaced PNGs from sharp: [what, bytes]. */
async function interlaced(): Promise<Array<[string, Buffer]>> {
  const out: Array<[string, Buffer]> = [];
  for (const [w, h] of [[13, 11], [3, 2], [1, 1], [10, 9]]) {
    const grey = Uint8Array.from(values(w * h, 8, w + h));
    out.push([`grey ${w}x${h}`, await sharp(grey, { raw: { width: w, height: h, channels: 1 } }).toColourspace('b-w').png({ progressive: true }).toBuffer()]);
    const g16 = Uint16Array.from(values(w * h, 16, w * h));
    out.push([`grey16 ${w}x${h}`, await sharp(g16, { raw: { width: w, height: h, channels: 1 } }).toColourspace('grey16').png({ progressive: true }).toBuffer()]);
    const rgb = Uint8Array.from(values(w * h * 3, 8, 3 * w + h));
    for (const bitdepth of [2, 8] as const) {
      const png = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png({ progressive: true, palette: true, colours: 2 ** bitdepth, dither: 0 }).toBuffer();
      out.push([`palette ${bitdepth}-bit ${w}x${h}`, png]);
    }
  }
  return out;
}

const PIL_MADE: PilMake[] = [
  ...([1, 2, 4, 8] as const).flatMap((bits) => [1, 3, 7, 33].map((w, i): PilMake => ({ mode: 'P', w, h: 5 + i, bits, seed: bits * 10 + i }))),
  { mode: 'L', w: 37, h: 29, seed: 1 },
  { mode: 'L', w: 1, h: 3, seed: 2 },
  { mode: 'I;16', w: 31, h: 17, seed: 3 },
];

let pil: { made: Array<PilRead & { png: string }>; read: PilRead[] };
let sharpFiles: Array<[string, Buffer]>;
let dir: string;

before(async () => {
  dir = await tempDir('png');
  if (skip) return;
  sharpFiles = await interlaced();
  const read = [...CRAFTED.map(craftPng), ...sharpFiles.map(([, b]) => b)].map((b) => b.toString('base64'));
  pil = python(PIL_SCRIPT, { make: PIL_MADE, read });
});
after(() => fs.rm(dir, { recursive: true, force: true }));

function decode(bytes: Uint8Array, what: string) {
  const png = readLabelPng(bytes, what);
  assert.ok(png, `${what}: not read as a label PNG`);
  return png;
}

test('palette, grey and 16-bit PNGs written by PIL decode to the values PIL reads (odd widths, bit depths 1/2/4/8)', { skip }, () => {
  PIL_MADE.forEach((spec, i) => {
    const what = `${spec.mode} ${spec.bits ?? ''} ${spec.w}x${spec.h}`;
    const bytes = Buffer.from(pil.made[i].png, 'base64');
    const png = decode(bytes, what);
    assert.deepEqual([png.width, png.height], pil.made[i].size, what);
    assert.equal(png.colorType, spec.mode === 'P' ? 3 : 0, what);
    assert.equal(png.bitDepth, spec.bits ?? (spec.mode === 'I;16' ? 16 : 8), what);
    assert.equal(png.data instanceof Uint16Array, spec.mode === 'I;16', what);
    assert.deepEqual(Array.from(png.data), pil.made[i].values, what);
  });
});

test('crafted PNGs with every filter type (None/Sub/Up/Average/Paeth, per row) decode like PIL', { skip }, () => {
  CRAFTED.forEach((spec, i) => {
    const what = `crafted type ${spec.colorType} ${spec.bitDepth}-bit ${spec.width}x${spec.height} filters ${spec.filters}`;
    assert.deepEqual(pil.read[i].values, spec.values, `${what}: PIL disagrees with the encoder`);
    assert.deepEqual(Array.from(decode(craftPng(spec), what).data), spec.values, what);
  });
});

test('Adam7-interlaced PNGs (sharp) decode like PIL', { skip }, () => {
  sharpFiles.forEach(([what, bytes], i) => {
    assert.equal(bytes[28], 1, `${what}: sharp did not interlace`);
    const expected = pil.read[CRAFTED.length + i];
    const png = decode(bytes, what);
    assert.deepEqual([png.width, png.height], expected.size, what);
    assert.deepEqual(Array.from(png.data), expected.values, what);
  });
  assert.ok(sharpFiles.some(([, b]) => b[25] === 3 && b[24] === 2), 'a 2-bit palette file is among them');
});

test('RGB PNGs and non-PNG bytes are left to sharp', async () => {
  const px = values(12, 8, 5);
  const rgb = await pngBytes(Uint8Array.from(px), 2, 2);
  assert.equal(rgb[25], 2);
  assert.equal(readLabelPng(rgb, 'rgb.png'), undefined);
  assert.equal(readLabelPng(await sharp({ create: { width: 2, height: 2, channels: 3, background: '#808080' } }).jpeg().toBuffer(), 'x.jpg'), undefined);
  // An RGB label map still gives its first channel.
  const map = await loadSegMap(rgb, 'rgb.png', 2, 2, {});
  assert.deepEqual(Array.from(map), [0, 3, 6, 9].map((i) => px[i]));
});

test('truncated and corrupt PNGs throw an ImageDecodeError naming the file and the fault', async () => {
  const good = craftPng(craftSpec(13, 9, 3, 4, [0, 1, 2, 3, 4]));
  assert.ok(readLabelPng(good, 'good.png'));
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['cut-in-ihdr.png', good.subarray(0, 20), /truncated.*IHDR/],
    ['cut-after-ihdr.png', good.subarray(0, 35), /truncated.*before the IEND/],
    ['cut-in-idat.png', good.subarray(0, good.length - 30), /truncated PNG: IDAT chunk at byte \d+ \(\d+ data bytes\) runs past the end/],
    ['cut-in-iend.png', good.subarray(0, good.length - 2), /truncated PNG: IEND chunk/],
    ['bad-crc.png', Buffer.from(good).fill(0xaa, 60, 61), /CRC mismatch in (IDAT|PLTE) chunk/],
    ['bad-depth.png', craftPng({ ...craftSpec(4, 4, 3, 8, [0]), bitDepth: 16 }), /bit depth 16 is invalid for colour type 3/],
    ['not-zlib.png', craftPng({ ...craftSpec(4, 4, 3, 8, [0]), damage: () => Buffer.from('not a zlib stream') }), /cannot inflate/],
    ['cut-zlib.png', craftPng({ ...craftSpec(4, 4, 3, 8, [0]), damage: (z) => z.subarray(0, z.length - 6) }), /cannot inflate/],
    ['short-data.png', craftPng({ ...craftSpec(4, 4, 3, 8, [0]), damage: (z) => zlib.deflateSync(zlib.inflateSync(z).subarray(0, 12)) }), /inflates to 12 bytes, expected 20/],
    ['bad-filter.png', craftPng({ ...craftSpec(4, 4, 3, 8, [0, 0, 7]) }), /unknown filter type 7 on scanline 2/],
  ];
  for (const [file, bytes, fault] of cases) {
    assert.throws(() => readLabelPng(bytes, file), (err: Error) => err instanceof ImageDecodeError && err.message.startsWith(`${file}: `) && fault.test(err.message), file);
  }
  // Through the label-map loader too.
  await assert.rejects(loadSegMap(good.subarray(0, 60), 'ann/x.png', 13, 9, {}), /^ImageDecodeError: ann\/x\.png: cannot decode image: truncated/);
});

test('16-bit grey label maps: values above 255 need a labelMap', async () => {
  const spec = { ...craftSpec(3, 1, 0, 16, [0]), values: [7, 300, 65535] };
  const bytes = craftPng(spec);
  await assert.rejects(loadSegMap(bytes, 'ann/deep.png', 3, 1, {}), /ann\/deep\.png: .*label value 300 does not fit 8 bits/);
  assert.deepEqual(Array.from(await loadSegMap(bytes, 'ann/deep.png', 3, 1, { labelMap: { 300: 1, 7: 0 } })), [0, 1, 255]);
  assert.deepEqual(Array.from(await loadSegMap(craftPng({ ...spec, values: [7, 200, 0] }), 'ann/ok.png', 3, 1, {})), [7, 200, 0]);
});

test('segmentation dataset with palette label maps (VOC palette) gives indices; reduce-zero-label and label maps apply', { skip }, async () => {
  const w = 7, h = 5;
  const labels = [
    Array.from({ length: w * h }, (_, i) => [0, 1, 2, 3, 255][i % 5]),
    Array.from({ length: w * h }, (_, i) => [3, 0, 255, 1, 2, 1][i % 6]),
  ];
  const made = python<{ made: Array<PilRead & { png: string }> }>(PIL_SCRIPT, { make: labels.map((v, i): PilMake => ({ mode: 'P', w, h, bits: 8, seed: i, values: v })), read: [] }).made;
  const imgDir = path.join(dir, 'img_dir', 'train'), annDir = path.join(dir, 'ann_dir', 'train');
  await fs.mkdir(imgDir, { recursive: true });
  await fs.mkdir(annDir, { recursive: true });
  for (const [i, m] of made.entries()) {
    assert.equal(m.mode, 'P');
    assert.deepEqual(m.values, labels[i]);
    await fs.writeFile(path.join(imgDir, `${i}.jpg`), await sharp({ create: { width: w, height: h, channels: 3, background: '#406080' } }).jpeg().toBuffer());
    await fs.writeFile(path.join(annDir, `${i}.png`), Buffer.from(m.png, 'base64'));
  }
  const opts: SegmentationOptions = { imgDir, annDir, imgSuffix: '.jpg', segMapSuffix: '.png', classes: ['bg', 'a', 'b', 'c'] };
  const load = async (extra: Partial<SegmentationOptions>) => {
    const ds = await SegmentationDataset.load({ ...opts, ...extra });
    return Promise.all([0, 1].map(async (i) => Array.from((await loadSample(ds.info(i), new LocalBackend(), { segMap: ds.segMap })).targets.segMap!)));
  };
  // VOC's colour for index 1 is (128, 0, 0): the red channel would give 128.
  assert.deepEqual(await load({}), labels);
  assert.deepEqual(await load({ reduceZeroLabel: true }), labels.map((l) => l.map((v) => (v === 0 || v === 255 ? 255 : v - 1))));
  assert.deepEqual(await load({ labelMap: { 1: 0, 3: 2 } }), labels.map((l) => l.map((v) => ({ 1: 0, 3: 2 })[v] ?? 255)));
});
