/**
 * The "shapes" dataset: textured backgrounds with overlapping circles, rectangles,
 * triangles and stars (class = shape; colour is varied and carries no class information),
 * written as a real COCO instance-segmentation dataset, deterministic from a seed.
 *
 *   DIR/annotations/instances_{train,val}.json
 *   DIR/{train,val}/NNNNNN.jpg
 *
 * Masks are the exact polygons that were rendered (amodal: an object partly hidden by a
 * later one keeps its full outline; overlap is kept moderate so boxes stay meaningful).
 * Some images carry a crowd region (a cluster of tiny shapes), annotated with iscrowd 1
 * and an uncompressed RLE mask.
 */
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { encodeRle, polygonArea, polygonsBox, rasterizePolygons, type Rle } from '../../structures/masks';
import type { CocoAnnotation, CocoCategory, CocoFile, CocoImage } from '../datasets/coco-format';
import { Rng, hash32 } from '../rng';
import { backgroundSvg, chooseImageSize, hsl, polygonSvg, pool, r2, renderSvg, rgb, splitCounts, writeJson, type SizeOptions } from './common';

export const SHAPE_CLASSES = ['circle', 'rectangle', 'triangle', 'star'] as const;
export type ShapeClass = (typeof SHAPE_CLASSES)[number];

export interface ShapeObject {
  cls: ShapeClass;
  /** Outline [x1, y1, ...] in pixels. */
  polygon: Float32Array;
  color: [number, number, number];
}

export interface CrowdRegion {
  cls: ShapeClass;
  /** The tiny shapes making up the crowd. */
  polygons: Float32Array[];
  color: [number, number, number];
}

export interface ShapesScene {
  width: number;
  height: number;
  background: string;
  /** Drawn in order: later objects occlude earlier ones. */
  objects: ShapeObject[];
  crowd?: CrowdRegion;
}

export interface ShapesOptions extends SizeOptions {
  /** Objects per image [min, max]. */
  objectsPerImage: [number, number];
  /** Object size (longest extent) range in pixels. */
  objectSize: [number, number];
  /** Probability that an image has a crowd region. */
  crowdProb: number;
}

export const DEFAULT_SHAPES_OPTIONS: ShapesOptions = { minSize: 320, maxSize: 640, objectsPerImage: [1, 8], objectSize: [16, 200], crowdProb: 0.15 };

/** Outline of a shape of class `cls`, centred at (cx, cy), longest extent about `size`. */
export function shapePolygon(rng: Rng, cls: ShapeClass, cx: number, cy: number, size: number): Float32Array {
  const pts: number[] = [];
  const rot = rng.uniform(0, 2 * Math.PI);
  const at = (r: number, a: number) => pts.push(cx + r * Math.cos(a), cy + r * Math.sin(a));
  switch (cls) {
    case 'circle': {
      const n = Math.max(16, Math.min(64, Math.round(size / 2)));
      for (let i = 0; i < n; i++) at(size / 2, (2 * Math.PI * i) / n);
      break;
    }
    case 'rectangle': {
      const aspect = rng.uniform(0.45, 1);
      const w = size / Math.hypot(1, aspect) * 1.15, h = w * aspect;
      const tilt = rng.uniform(-0.4, 0.4);
      const c = Math.cos(tilt), s = Math.sin(tilt);
      for (const [dx, dy] of [[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]]) pts.push(cx + dx * c - dy * s, cy + dx * s + dy * c);
      break;
    }
    case 'triangle':
      for (let i = 0; i < 3; i++) at((size / 2) * rng.uniform(0.9, 1.1), rot + (2 * Math.PI * i) / 3);
      break;
    case 'star': {
      const inner = rng.uniform(0.38, 0.5);
      for (let i = 0; i < 10; i++) at(i % 2 ? (size / 2) * inner : size / 2, rot + (Math.PI * i) / 5);
      break;
    }
  }
  return Float32Array.from(pts);
}

function boxIoU(a: number[], b: number[]): { iou: number; ofB: number } {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  const areaA = (a[2] - a[0]) * (a[3] - a[1]), areaB = (b[2] - b[0]) * (b[3] - b[1]);
  return { iou: inter / (areaA + areaB - inter), ofB: inter / areaB };
}

/** A random scene (geometry and colours only). */
export function makeShapesScene(rng: Rng, opts: ShapesOptions = DEFAULT_SHAPES_OPTIONS): ShapesScene {
  const [width, height] = chooseImageSize(rng, opts);
  const background = backgroundSvg(rng, width, height);
  const boxes: number[][] = [];
  let crowd: CrowdRegion | undefined;
  if (rng.chance(opts.crowdProb)) {
    const cls = rng.choice(SHAPE_CLASSES);
    const rw = rng.uniform(0.2, 0.35) * width, rh = rng.uniform(0.2, 0.35) * height;
    const x0 = rng.uniform(0, width - rw), y0 = rng.uniform(0, height - rh);
    const polygons: Float32Array[] = [];
    const count = rng.int(8, 16);
    for (let i = 0; i < count; i++) {
      const s = rng.uniform(6, 12);
      polygons.push(shapePolygon(rng, cls, rng.uniform(x0 + s, x0 + rw - s), rng.uniform(y0 + s, y0 + rh - s), s));
    }
    crowd = { cls, polygons, color: hsl(rng.uniform(0, 360), rng.uniform(0.5, 0.9), rng.uniform(0.35, 0.6)) };
    boxes.push(polygonsBox(polygons));
  }
  const objects: ShapeObject[] = [];
  const want = rng.int(opts.objectsPerImage[0], opts.objectsPerImage[1]);
  const maxSize = Math.min(opts.objectSize[1], 0.6 * Math.min(width, height));
  for (let tries = 0; objects.length < want && tries < want * 30; tries++) {
    const cls = rng.choice(SHAPE_CLASSES);
    const size = rng.logUniform(opts.objectSize[0], Math.max(opts.objectSize[0] + 1, maxSize));
    const cx = rng.uniform(size / 2 + 1, width - size / 2 - 1);
    const cy = rng.uniform(size / 2 + 1, height - size / 2 - 1);
    const polygon = shapePolygon(rng, cls, cx, cy, size);
    const box = polygonsBox([polygon]);
    if (box[0] < 0 || box[1] < 0 || box[2] > width || box[3] > height) continue;
    // Moderate overlap: no pair too alike, and no earlier object more than half covered.
    if (boxes.some((b) => { const o = boxIoU(box, b); return o.iou > 0.3 || o.ofB > 0.5; })) continue;
    // Nothing inside the crowd region: it is ignored in training, so an object there would be lost.
    if (crowd && boxIoU(box, boxes[0]).iou > 0) continue;
    boxes.push(box);
    // Colours avoid the background's lightness band so objects always stand out a little.
    objects.push({ cls, polygon, color: hsl(rng.uniform(0, 360), rng.uniform(0.45, 0.95), rng.choice([rng.uniform(0.2, 0.4), rng.uniform(0.55, 0.8)])) });
  }
  return { width, height, background, objects, crowd };
}

export function sceneSvg(scene: ShapesScene): string {
  const parts = [scene.background];
  if (scene.crowd) for (const p of scene.crowd.polygons) parts.push(polygonSvg(p, rgb(scene.crowd.color)));
  for (const o of scene.objects) parts.push(polygonSvg(o.polygon, rgb(o.color)));
  return parts.join('');
}

export const SHAPE_CATEGORIES: CocoCategory[] = SHAPE_CLASSES.map((name, i) => ({ id: i + 1, name, supercategory: 'shape' }));

/** COCO annotations of one scene (ids filled in by the caller's counters). */
export function sceneAnnotations(scene: ShapesScene, imageId: number, nextId: () => number): CocoAnnotation[] {
  const anns: CocoAnnotation[] = [];
  if (scene.crowd) {
    const { width: w, height: h } = scene;
    const bitmap = rasterizePolygons(scene.crowd.polygons, h, w);
    const [x1, y1, x2, y2] = polygonsBox(scene.crowd.polygons);
    let area = 0;
    for (const v of bitmap) area += v;
    anns.push({ id: nextId(), image_id: imageId, category_id: SHAPE_CLASSES.indexOf(scene.crowd.cls) + 1, bbox: [x1, y1, x2 - x1, y2 - y1].map(r2), area, iscrowd: 1, segmentation: encodeRle(bitmap, h, w) });
  }
  for (const o of scene.objects) {
    const [x1, y1, x2, y2] = polygonsBox([o.polygon]);
    anns.push({
      id: nextId(),
      image_id: imageId,
      category_id: SHAPE_CLASSES.indexOf(o.cls) + 1,
      bbox: [x1, y1, x2 - x1, y2 - y1].map(r2),
      area: r2(polygonArea(o.polygon)),
      iscrowd: 0,
      segmentation: [Array.from(o.polygon, r2)],
    });
  }
  return anns;
}

export interface GenerateOptions {
  out: string;
  images: number;
  seed: number;
  valFraction?: number;
  /** Parallel renders (libvips also threads inside each). */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Seed of image i of a split: independent of how many images the other split has. */
export function imageSeed(seed: number, split: 'train' | 'val', i: number): number {
  return hash32(hash32(seed ^ (split === 'train' ? 0x7a11 : 0x0fa1)) ^ i);
}

/**
 * Generates a split-by-split synthetic dataset: for every image, `makeImage` renders
 * it (to DIR/split/NNNNNN.ext) and returns its annotations; COCO files are written last.
 */
export async function generateCocoSplits(
  opts: GenerateOptions,
  annotationName: (split: string) => string,
  categories: CocoCategory[],
  makeImage: (rng: Rng, file: string) => Promise<{ width: number; height: number; annotations: (imageId: number, nextId: () => number) => CocoAnnotation[] }>,
  ext = 'jpg',
): Promise<{ train: number; val: number }> {
  const counts = splitCounts(opts.images, opts.valFraction ?? 0.2);
  let done = 0;
  for (const split of ['train', 'val'] as const) {
    await fs.mkdir(path.join(opts.out, split), { recursive: true });
    const n = counts[split];
    const made = await pool(n, opts.concurrency ?? 2, async (i) => {
      const fileName = `${String(i + 1).padStart(6, '0')}.${ext}`;
      const r = await makeImage(new Rng(imageSeed(opts.seed, split, i)), path.join(opts.out, split, fileName));
      opts.onProgress?.(++done, opts.images);
      return { fileName, ...r };
    });
    let annId = 0;
    const nextId = () => ++annId;
    const images: CocoImage[] = [];
    const annotations: CocoAnnotation[] = [];
    made.forEach((m, i) => {
      images.push({ id: i + 1, file_name: m.fileName, width: m.width, height: m.height });
      annotations.push(...m.annotations(i + 1, nextId));
    });
    await writeJson(path.join(opts.out, 'annotations', annotationName(split)), {
      info: { description: `tsvision synthetic dataset (${split}), seed ${opts.seed}` },
      images,
      annotations,
      categories,
    } satisfies CocoFile);
  }
  return counts;
}

/** Writes the "shapes" dataset. */
export async function generateShapes(opts: GenerateOptions & { shapes?: Partial<ShapesOptions> }): Promise<{ train: number; val: number }> {
  const so = { ...DEFAULT_SHAPES_OPTIONS, ...opts.shapes };
  return generateCocoSplits(opts, (split) => `instances_${split}.json`, SHAPE_CATEGORIES, async (rng, file) => {
    const scene = makeShapesScene(rng, so);
    await renderSvg(sceneSvg(scene), scene.width, scene.height, file);
    return { width: scene.width, height: scene.height, annotations: (imageId, nextId) => sceneAnnotations(scene, imageId, nextId) };
  });
}
