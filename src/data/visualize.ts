/**
 * Draws a sample after its pipeline (boxes, masks, keypoints with skeleton, label maps,
 * heatmaps) onto its image and encodes a PNG, as MMDetection's browse_dataset does.
 */
import sharp from 'sharp';
import { rasterizePolygons } from '../structures/masks';
import { ensureDecoded } from './image';
import type { Sample } from './sample';

export interface DrawOptions {
  classes: readonly string[];
  /** Keypoint skeleton (0-based pairs) and which keypoints are on the left. */
  skeleton?: ReadonlyArray<readonly [number, number]>;
  leftKeypoints?: ReadonlySet<number>;
  /** Upscale factor for small images (e.g. 2 for 192x256 pose crops). */
  zoom?: number;
}

/** A distinct colour per class index. */
export function palette(i: number): [number, number, number] {
  const h = (i * 137.508) % 360;
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (0.5 - 0.45 * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

const css = (c: [number, number, number], a = 1) => `rgba(${c[0]},${c[1]},${c[2]},${a})`;

/** PNG of `sample` with its targets drawn. The image must not be normalized. */
export async function drawSample(sample: Sample, opts: DrawOptions): Promise<Buffer> {
  const img = await ensureDecoded(sample);
  if (img.layout !== 'hwc' || !(img.data instanceof Uint8Array)) throw new Error('drawSample: expected a uint8 HWC image (leave Normalize out of the pipeline to browse)');
  const { width: w, height: h } = img;
  const rgb = img.order === 'rgb' ? img.data : swapped(img.data);
  const t = sample.targets;
  // Raster overlays (label maps, bitmap masks, heatmaps) are blended into an RGBA layer.
  const layer = new Uint8Array(w * h * 4);
  const blend = (i: number, c: [number, number, number], a: number) => {
    layer[4 * i] = c[0]; layer[4 * i + 1] = c[1]; layer[4 * i + 2] = c[2]; layer[4 * i + 3] = Math.round(255 * a);
  };
  if (t.segMap) {
    const sw = t.segMap.length === w * h ? w : sample.meta.padShape[1]; // padded maps are wider
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const v = t.segMap[y * sw + x];
      if (v === 255) blend(y * w + x, [255, 255, 255], 0.6);
      else if (v > 0) blend(y * w + x, palette(v - 1), 0.5);
    }
  }
  const svg: string[] = [];
  const boxes = t.boxes ?? new Float32Array(0);
  const labels = t.labels ?? new Int32Array(0);
  if (t.masks) {
    const masks = t.masks;
    const n = masks.kind === 'polygons' ? masks.polygons.length : masks.count;
    for (let i = 0; i < n; i++) {
      const color = palette(labels[i] ?? 0);
      if (masks.kind === 'polygons') {
        const bitmap = rasterizePolygons(masks.polygons[i], h, w);
        for (let p = 0; p < w * h; p++) if (bitmap[p]) blend(p, color, 0.45);
      } else {
        const mw = masks.width;
        for (let y = 0; y < Math.min(h, masks.height); y++) for (let x = 0; x < w; x++) if (masks.data[i * masks.height * mw + y * mw + x]) blend(y * w + x, color, 0.45);
      }
    }
  }
  if (sample.pose?.heatmaps.length) {
    const [hw, hh] = sample.pose.heatmapSize;
    const k = sample.pose.heatmaps.length / (hw * hh);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const hx = Math.min(hw - 1, Math.floor((x * hw) / w)), hy = Math.min(hh - 1, Math.floor((y * hh) / h));
      let m = 0;
      for (let j = 0; j < k; j++) m = Math.max(m, sample.pose.heatmaps[j * hw * hh + hy * hw + hx]);
      if (m > 0.05) blend(y * w + x, [255, 40, 40], 0.6 * m);
    }
  }
  for (let i = 0; i < boxes.length / 4; i++) {
    const [x1, y1, x2, y2] = boxes.subarray(4 * i, 4 * i + 4);
    const color = palette(labels[i] ?? 0);
    svg.push(`<rect x="${x1}" y="${y1}" width="${x2 - x1}" height="${y2 - y1}" fill="none" stroke="${css(color)}" stroke-width="2"/>`);
    const name = opts.classes[labels[i]] ?? String(labels[i]);
    svg.push(`<text x="${x1 + 2}" y="${Math.max(10, y1 - 3)}" font-family="sans-serif" font-size="11" fill="${css(color)}" stroke="black" stroke-width="0.3">${escapeXml(name)}</text>`);
  }
  const ign = t.ignoreBoxes ?? new Float32Array(0);
  for (let i = 0; i < ign.length; i += 4) {
    svg.push(`<rect x="${ign[i]}" y="${ign[i + 1]}" width="${ign[i + 2] - ign[i]}" height="${ign[i + 3] - ign[i + 1]}" fill="none" stroke="white" stroke-dasharray="4 3" stroke-width="1.5"/>`);
  }
  if (t.keypoints) {
    const k = t.numKeypoints ?? 17;
    const kps = t.keypoints;
    for (let p = 0; p < kps.length / (3 * k); p++) {
      const at = (j: number) => [kps[(p * k + j) * 3], kps[(p * k + j) * 3 + 1], kps[(p * k + j) * 3 + 2]];
      for (const [a, b] of opts.skeleton ?? []) {
        const [ax, ay, av] = at(a), [bx, by, bv] = at(b);
        if (av > 0 && bv > 0) svg.push(`<line x1="${ax}" y1="${ay}" x2="${bx}" y2="${by}" stroke="rgba(255,255,0,0.8)" stroke-width="1.5"/>`);
      }
      for (let j = 0; j < k; j++) {
        const [x, y, v] = at(j);
        if (v <= 0) continue;
        const c = opts.leftKeypoints?.has(j) ? 'rgb(0,200,255)' : j === 0 ? 'rgb(255,255,255)' : 'rgb(255,120,0)';
        svg.push(`<circle cx="${x}" cy="${y}" r="3" fill="${v >= 2 ? c : 'none'}" stroke="${c}" stroke-width="1.5"/>`);
      }
    }
  }
  const zoom = opts.zoom ?? 1;
  const base = sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), { raw: { width: w, height: h, channels: 3 } });
  const overlay = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${svg.join('')}</svg>`;
  const composed = await base
    .composite([{ input: Buffer.from(layer.buffer), raw: { width: w, height: h, channels: 4 } }, { input: Buffer.from(overlay) }])
    .png()
    .toBuffer();
  return zoom === 1 ? composed : sharp(composed).resize(w * zoom, h * zoom, { kernel: 'nearest' }).png().toBuffer();
}

function swapped(d: Uint8Array): Uint8Array {
  const out = d.slice();
  for (let i = 0; i < out.length; i += 3) { out[i] = d[i + 2]; out[i + 2] = d[i]; }
  return out;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}
