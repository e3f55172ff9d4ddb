/**
 * Pieces the synthetic dataset generators share: image sizes, textured backgrounds,
 * SVG rendering with sharp, COCO JSON writing, and a small concurrency pool.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import type { Rng } from '../rng';

export interface SizeOptions {
  /** Smallest long side in pixels (the short side may be down to 3/4 of it). */
  minSize: number;
  /** Largest long side in pixels. */
  maxSize: number;
}

/** A [w, h] from a few aspect ratios, long side drawn from a few sizes in [minSize, maxSize]. */
export function chooseImageSize(rng: Rng, { minSize, maxSize }: SizeOptions): [number, number] {
  if (!(minSize > 0 && maxSize >= minSize)) throw new Error(`image sizes: expected 0 < minSize <= maxSize, got ${minSize}, ${maxSize}`);
  const aspect = rng.choice([1, 4 / 3, 3 / 2, 3 / 4]); // w / h
  const long = Math.round(rng.choice([0, 1 / 3, 2 / 3, 1]) * (maxSize - minSize) + minSize);
  let w = aspect >= 1 ? long : long * aspect;
  let h = aspect >= 1 ? long / aspect : long;
  // Keep the short side at least minSize * 0.75 so small settings still give room for objects.
  const f = Math.max(1, (minSize * 0.75) / Math.min(w, h));
  w = Math.min(maxSize, Math.round(w * f));
  h = Math.min(maxSize, Math.round(h * f));
  return [w, h];
}

export function rgb(c: [number, number, number]): string {
  return `rgb(${c.map((v) => Math.round(Math.min(255, Math.max(0, v)))).join(',')})`;
}

/** HSL (h in degrees, s and l in [0, 1]) to RGB 0-255. */
export function hsl(h: number, s: number, l: number): [number, number, number] {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const hp = (((h % 360) + 360) % 360) / 60;
  const x = c * (1 - Math.abs((hp % 2) - 1));
  const [r, g, b] = hp < 1 ? [c, x, 0] : hp < 2 ? [x, c, 0] : hp < 3 ? [0, c, x] : hp < 4 ? [0, x, c] : hp < 5 ? [x, 0, c] : [c, 0, x];
  const m = l - c / 2;
  return [(r + m) * 255, (g + m) * 255, (b + m) * 255];
}

/** SVG for a muted base colour with fractal-noise texture and a few faint strokes of clutter. */
export function backgroundSvg(rng: Rng, w: number, h: number): string {
  const base = hsl(rng.uniform(0, 360), rng.uniform(0.05, 0.3), rng.uniform(0.3, 0.75));
  const freq = rng.uniform(0.01, 0.06).toFixed(4);
  const seed = rng.int(0, 100000);
  const parts = [
    `<defs><filter id="tex" x="0" y="0" width="100%" height="100%"><feTurbulence type="fractalNoise" baseFrequency="${freq}" numOctaves="3" seed="${seed}"/><feColorMatrix type="saturate" values="0"/></filter></defs>`,
    `<rect width="${w}" height="${h}" fill="${rgb(base)}"/>`,
    `<rect width="${w}" height="${h}" filter="url(#tex)" opacity="${rng.uniform(0.2, 0.45).toFixed(3)}"/>`,
  ];
  const strokes = rng.int(0, 4);
  for (let i = 0; i < strokes; i++) {
    const c = hsl(rng.uniform(0, 360), 0.15, rng.uniform(0.25, 0.85));
    parts.push(`<line x1="${rng.int(0, w)}" y1="${rng.int(0, h)}" x2="${rng.int(0, w)}" y2="${rng.int(0, h)}" stroke="${rgb(c)}" stroke-width="${rng.int(1, 3)}" opacity="0.35"/>`);
  }
  return parts.join('');
}

export function polygonSvg(points: ArrayLike<number>, fill: string, extra = ''): string {
  const pts: string[] = [];
  for (let i = 0; i + 1 < points.length; i += 2) pts.push(`${points[i].toFixed(2)},${points[i + 1].toFixed(2)}`);
  return `<polygon points="${pts.join(' ')}" fill="${fill}"${extra}/>`;
}

/**
 * Writes `data` to `file` through a temporary file in the same folder and a rename, so a reader
 * never sees a half-written file: not after a crash, and not while another process (a second rank
 * of a distributed run) generates the same dataset at the same time.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/** Renders an SVG body to a JPEG or PNG file. */
export async function renderSvg(body: string, w: number, h: number, file: string): Promise<void> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">${body}</svg>`;
  const img = sharp(Buffer.from(svg));
  await writeFileAtomic(file, await (file.endsWith('.png') ? img.png() : img.jpeg({ quality: 90 })).toBuffer());
}

/** Runs `fn` over 0..n-1 with at most `concurrency` in flight; results in order. */
export async function pool<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  const run = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, run));
  return out;
}

/** Rounds a coordinate to 2 decimals for compact JSON. */
export const r2 = (v: number) => Math.round(v * 100) / 100;

/** Writes JSON (atomically), creating the folder. */
export async function writeJson(file: string, value: unknown): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, JSON.stringify(value));
}

/** Train and val image counts for `total` images. */
export function splitCounts(total: number, valFraction: number): { train: number; val: number } {
  if (!(Number.isInteger(total) && total >= 2)) throw new Error(`images: expected an integer >= 2, got ${total}`);
  const val = Math.min(total - 1, Math.max(1, Math.round(total * valFraction)));
  return { train: total - val, val };
}
