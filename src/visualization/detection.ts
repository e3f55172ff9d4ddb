/** Drawing detections on images (tsvision demo, the quickstart's demo.png). */
import * as fs from 'node:fs';
import sharp from 'sharp';
import type { CocoResult } from '../evaluation';
import { decodeMask, rleFromJson } from '../evaluation/coco/mask';

/**
 * The detections' masks (COCO RLE `segmentation`, at the image's size) as one RGBA overlay:
 * each mask filled in its color at half opacity, later detections over earlier ones.
 */
function maskOverlay(dets: CocoResult[], colorOf: (d: CocoResult) => string, w: number, h: number): Buffer | null {
  const withMasks = dets.filter((d) => d.segmentation);
  if (withMasks.length === 0) return null;
  const rgba = Buffer.alloc(w * h * 4);
  for (const d of withMasks) {
    const seg = d.segmentation!;
    if (seg.size[0] !== h || seg.size[1] !== w) throw new Error(`drawDetections: a mask of ${seg.size[0]}x${seg.size[1]} on an image of ${h}x${w}`);
    const col = decodeMask(rleFromJson(seg)); // column-major
    const c = colorOf(d);
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
    for (let x = 0; x < w; x++) {
      for (let y = 0; y < h; y++) {
        if (!col[x * h + y]) continue;
        const o = 4 * (y * w + x);
        rgba[o] = r; rgba[o + 1] = g; rgba[o + 2] = b; rgba[o + 3] = 128;
      }
    }
  }
  return rgba;
}

/** Draws the detections above `minScore` on the image, with class names and scores (and masks where they have them). */
export async function drawDetections(imagePath: string, dets: CocoResult[], names: Map<number, string>, out: string, minScore = 0.3): Promise<void> {
  const meta = await sharp(imagePath).metadata();
  const w = meta.width ?? 0, h = meta.height ?? 0;
  const palette = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45'];
  const colorOf = (d: CocoResult) => palette[d.category_id % palette.length];
  const shown = dets.filter((d) => d.score >= minScore);
  const shapes = shown.map((d) => {
    const [x, y, bw, bh] = d.bbox!;
    const color = colorOf(d);
    const label = `${names.get(d.category_id) ?? d.category_id} ${d.score.toFixed(2)}`;
    const ty = y > 14 ? y - 3 : y + bh + 12;
    return `<rect x="${x}" y="${y}" width="${bw}" height="${bh}" fill="none" stroke="${color}" stroke-width="2"/>` +
      `<rect x="${x}" y="${ty - 11}" width="${label.length * 6.2 + 4}" height="13" fill="${color}"/>` +
      `<text x="${x + 2}" y="${ty}" font-family="sans-serif" font-size="11" fill="white">${label}</text>`;
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${shapes.join('')}</svg>`;
  const tmp = `${out}.tmp-${process.pid}.png`;
  const overlay = maskOverlay(shown, colorOf, w, h);
  const layers: sharp.OverlayOptions[] = overlay ? [{ input: overlay, raw: { width: w, height: h, channels: 4 }, top: 0, left: 0 }] : [];
  layers.push({ input: Buffer.from(svg), top: 0, left: 0 });
  await sharp(imagePath).composite(layers).png().toFile(tmp);
  fs.renameSync(tmp, out);
}

