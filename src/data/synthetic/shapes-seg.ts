/**
 * "shapes-seg": the shapes scenes as a semantic-segmentation dataset (MMSegmentation's
 * custom layout). Label value 0 = background, 1..4 = circle, rectangle, triangle, star,
 * 255 = ignore (the crowd region's box).
 *
 *   DIR/img_dir/{train,val}/NNNNNN.jpg
 *   DIR/ann_dir/{train,val}/NNNNNN.png
 *   DIR/classes.json    ["background", "circle", ...]
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { polygonsBox, rasterizePolygons } from '../../structures/masks';
import { Rng } from '../rng';
import { pool, renderSvg, splitCounts, writeFileAtomic, writeJson } from './common';
import { DEFAULT_SHAPES_OPTIONS, imageSeed, makeShapesScene, sceneSvg, SHAPE_CLASSES, type GenerateOptions, type ShapesOptions, type ShapesScene } from './shapes';

export const SHAPES_SEG_CLASSES = ['background', ...SHAPE_CLASSES];

/** The label map [H*W] of a scene, painted in drawing order. */
export function sceneLabelMap(scene: ShapesScene): Uint8Array {
  const { width: w, height: h } = scene;
  const map = new Uint8Array(w * h);
  if (scene.crowd) {
    const [x1, y1, x2, y2] = polygonsBox(scene.crowd.polygons).map(Math.round);
    for (let y = Math.max(0, y1); y < Math.min(h, y2); y++) map.fill(255, y * w + Math.max(0, x1), y * w + Math.min(w, x2));
  }
  for (const o of scene.objects) rasterizePolygons([o.polygon], h, w, map, SHAPE_CLASSES.indexOf(o.cls) + 1);
  return map;
}

export async function generateShapesSeg(opts: GenerateOptions & { shapes?: Partial<ShapesOptions> }): Promise<{ train: number; val: number }> {
  const so = { ...DEFAULT_SHAPES_OPTIONS, ...opts.shapes };
  const counts = splitCounts(opts.images, opts.valFraction ?? 0.2);
  let done = 0;
  for (const split of ['train', 'val'] as const) {
    await fs.mkdir(path.join(opts.out, 'img_dir', split), { recursive: true });
    await fs.mkdir(path.join(opts.out, 'ann_dir', split), { recursive: true });
    await pool(counts[split], opts.concurrency ?? 2, async (i) => {
      const scene = makeShapesScene(new Rng(imageSeed(opts.seed, split, i)), so);
      const name = String(i + 1).padStart(6, '0');
      await renderSvg(sceneSvg(scene), scene.width, scene.height, path.join(opts.out, 'img_dir', split, `${name}.jpg`));
      const labels = await sharp(sceneLabelMap(scene), { raw: { width: scene.width, height: scene.height, channels: 1 } }).toColourspace('b-w').png().toBuffer();
      await writeFileAtomic(path.join(opts.out, 'ann_dir', split, `${name}.png`), labels);
      opts.onProgress?.(++done, opts.images);
    });
  }
  await writeJson(path.join(opts.out, 'classes.json'), SHAPES_SEG_CLASSES);
  return counts;
}
