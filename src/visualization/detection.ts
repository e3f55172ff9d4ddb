/** Drawing detections on images (tsvision demo, the quickstart's demo.png). */
import * as fs from 'node:fs';
import sharp from 'sharp';
import type { CocoResult } from '../evaluation';

/** Draws the detections above `minScore` on the image, with class names and scores. */
export async function drawDetections(imagePath: string, dets: CocoResult[], names: Map<number, string>, out: string, minScore = 0.3): Promise<void> {
  const meta = await sharp(imagePath).metadata();
  const w = meta.width ?? 0, h = meta.height ?? 0;
  const palette = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45'];
  const shapes = dets.filter((d) => d.score >= minScore).map((d) => {
    const [x, y, bw, bh] = d.bbox!;
    const color = palette[d.category_id % palette.length];
    const label = `${names.get(d.category_id) ?? d.category_id} ${d.score.toFixed(2)}`;
    const ty = y > 14 ? y - 3 : y + bh + 12;
    return `<rect x="${x}" y="${y}" width="${bw}" height="${bh}" fill="none" stroke="${color}" stroke-width="2"/>` +
      `<rect x="${x}" y="${ty - 11}" width="${label.length * 6.2 + 4}" height="13" fill="${color}"/>` +
      `<text x="${x + 2}" y="${ty}" font-family="sans-serif" font-size="11" fill="white">${label}</text>`;
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${shapes.join('')}</svg>`;
  const tmp = `${out}.tmp-${process.pid}.png`;
  await sharp(imagePath).composite([{ input: Buffer.from(svg), top: 0, left: 0 }]).png().toFile(tmp);
  fs.renameSync(tmp, out);
}

