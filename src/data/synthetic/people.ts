/**
 * The "people" dataset: stick figures with the 17 COCO keypoints, varied pose, scale and
 * occlusion, written as a real COCO person-keypoints dataset.
 *
 *   DIR/annotations/person_keypoints_{train,val}.json
 *   DIR/{train,val}/NNNNNN.jpg
 *
 * Figures face the viewer (the person's left is on the image's right). Left limbs are drawn
 * lighter than right ones, so left/right can be told apart as in real photos. Keypoints
 * under an occluder or a later figure get v = 1, outside the image v = 0 at (0, 0).
 */
import type { CocoAnnotation, CocoCategory } from '../datasets/coco-format';
import { polygonArea, polygonsBox } from '../../structures/masks';
import type { Rng } from '../rng';
import { backgroundSvg, chooseImageSize, hsl, polygonSvg, r2, renderSvg, rgb, type SizeOptions } from './common';
import { generateCocoSplits, type GenerateOptions } from './shapes';

export const COCO_KEYPOINTS = [
  'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
  'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle',
];
/** COCO's skeleton, 1-based pairs as in the annotation files. */
export const COCO_SKELETON: Array<[number, number]> = [
  [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7],
];
/** Left/right keypoint index pairs (0-based) for horizontal flips. */
export const COCO_FLIP_PAIRS: Array<[number, number]> = [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]];

export const PERSON_CATEGORY: CocoCategory = { id: 1, name: 'person', supercategory: 'person', keypoints: COCO_KEYPOINTS, skeleton: COCO_SKELETON };

export interface Figure {
  /** [17][x, y] keypoint positions in pixels. */
  joints: Array<[number, number]>;
  /** Body height in pixels. */
  height: number;
  color: [number, number, number];
  /** Convex hull of the drawn figure, [x1, y1, ...]. */
  hull: number[];
}

const deg = Math.PI / 180;

/** A figure with body height `h`, hips at (x, y). */
export function makeFigure(rng: Rng, x: number, y: number, h: number): Figure {
  const lean = rng.uniform(-15, 15) * deg;
  const rot = (p: [number, number]): [number, number] => {
    const c = Math.cos(lean), s = Math.sin(lean);
    return [x + (p[0] * c - p[1] * s) * h, y + (p[0] * s + p[1] * c) * h];
  };
  const yaw = Math.cos(rng.uniform(-50, 50) * deg); // turning the body narrows it
  const local: Array<[number, number]> = new Array(17);
  const sh = 0.12 * yaw, hp = 0.08 * yaw;
  const turn = rng.uniform(-0.02, 0.02);
  local[0] = [turn, -0.385];
  local[1] = [0.025 * yaw + turn, -0.405];
  local[2] = [-0.025 * yaw + turn, -0.405];
  local[3] = [0.055 * yaw, -0.395];
  local[4] = [-0.055 * yaw, -0.395];
  local[5] = [sh, -0.3];
  local[6] = [-sh, -0.3];
  local[11] = [hp, 0];
  local[12] = [-hp, 0];
  const limb = (from: [number, number], angle: number, len: number): [number, number] => [from[0] + Math.sin(angle) * len, from[1] + Math.cos(angle) * len];
  for (const side of [0, 1]) {
    const sign = side === 0 ? 1 : -1; // left limbs go to +x
    const upper = sign * rng.uniform(-20, 150) * deg;
    const elbow = limb(local[5 + side], upper, 0.15);
    const wrist = limb(elbow, upper + sign * rng.uniform(-10, 120) * deg, 0.14);
    local[7 + side] = elbow;
    local[9 + side] = wrist;
    const thigh = sign * rng.uniform(-15, 35) * deg;
    const knee = limb(local[11 + side], thigh, 0.24);
    local[13 + side] = knee;
    local[15 + side] = limb(knee, thigh - sign * rng.uniform(0, 40) * deg, 0.23);
  }
  const joints = local.map(rot);
  // Outline points: joints padded by the limb width, and the head circle.
  const pad = 0.03 * h;
  const pts: Array<[number, number]> = [];
  for (const [jx, jy] of joints) for (let a = 0; a < 8; a++) pts.push([jx + pad * Math.cos((a * Math.PI) / 4), jy + pad * Math.sin((a * Math.PI) / 4)]);
  const head = rot([0, -0.4]);
  for (let a = 0; a < 16; a++) pts.push([head[0] + 0.07 * h * Math.cos((a * Math.PI) / 8), head[1] + 0.07 * h * Math.sin((a * Math.PI) / 8)]);
  return { joints, height: h, color: hsl(rng.uniform(0, 360), rng.uniform(0.4, 0.9), rng.uniform(0.3, 0.5)), hull: convexHull(pts) };
}

/** Andrew's monotone chain; returns [x1, y1, ...] counter-clockwise. */
export function convexHull(points: Array<[number, number]>): number[] {
  const p = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cross = (o: number[], a: number[], b: number[]) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: number[][] = [], upper: number[][] = [];
  for (const q of p) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], q) <= 0) lower.pop();
    lower.push(q);
  }
  for (const q of p.reverse()) {
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], q) <= 0) upper.pop();
    upper.push(q);
  }
  return [...lower.slice(0, -1), ...upper.slice(0, -1)].flat();
}

function figureSvg(f: Figure): string {
  const w = Math.max(2, 0.035 * f.height);
  const [r, g, b] = f.color;
  const left = rgb([r + 60, g + 60, b + 60]), right = rgb([r * 0.7, g * 0.7, b * 0.7]), body = rgb(f.color);
  const J = f.joints;
  const line = (a: number, b2: number, c: string) => `<line x1="${J[a][0].toFixed(2)}" y1="${J[a][1].toFixed(2)}" x2="${J[b2][0].toFixed(2)}" y2="${J[b2][1].toFixed(2)}" stroke="${c}" stroke-width="${w.toFixed(2)}" stroke-linecap="round"/>`;
  const parts = [polygonSvg([...J[5], ...J[6], ...J[12], ...J[11]], body)];
  parts.push(line(5, 7, left), line(7, 9, left), line(11, 13, left), line(13, 15, left));
  parts.push(line(6, 8, right), line(8, 10, right), line(12, 14, right), line(14, 16, right));
  const neck: [number, number] = [(J[5][0] + J[6][0]) / 2, (J[5][1] + J[6][1]) / 2];
  const head: [number, number] = [(J[3][0] + J[4][0]) / 2, (J[3][1] + J[4][1]) / 2 - 0.005 * f.height];
  parts.push(`<line x1="${neck[0].toFixed(2)}" y1="${neck[1].toFixed(2)}" x2="${head[0].toFixed(2)}" y2="${head[1].toFixed(2)}" stroke="${body}" stroke-width="${w.toFixed(2)}"/>`);
  parts.push(`<circle cx="${head[0].toFixed(2)}" cy="${head[1].toFixed(2)}" r="${(0.065 * f.height).toFixed(2)}" fill="${rgb([r + 90, g + 80, b + 70])}"/>`);
  const dot = (j: number, c: string, rad: number) => `<circle cx="${J[j][0].toFixed(2)}" cy="${J[j][1].toFixed(2)}" r="${Math.max(1, rad * f.height).toFixed(2)}" fill="${c}"/>`;
  parts.push(dot(1, 'rgb(20,20,20)', 0.008), dot(2, 'rgb(20,20,20)', 0.008), dot(0, 'rgb(180,40,40)', 0.009), dot(3, left, 0.012), dot(4, right, 0.012));
  return parts.join('');
}

function insidePolygon(x: number, y: number, poly: number[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length / 2 - 1; i < poly.length / 2; j = i++) {
    const xi = poly[2 * i], yi = poly[2 * i + 1], xj = poly[2 * j], yj = poly[2 * j + 1];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export interface PeopleScene {
  width: number;
  height: number;
  svg: string;
  annotations: Array<Omit<CocoAnnotation, 'id' | 'image_id'>>;
}

/** A random scene of 1-4 figures with occluders, and its COCO annotations. */
export function makePeopleScene(rng: Rng, size: SizeOptions): PeopleScene {
  const [width, height] = chooseImageSize(rng, size);
  const parts = [backgroundSvg(rng, width, height)];
  const figures: Figure[] = [];
  const want = rng.int(1, 4);
  for (let tries = 0; figures.length < want && tries < 40; tries++) {
    const h = rng.uniform(0.25, 0.9) * height;
    // Mostly inside the image; sometimes cut by its border (keypoints with v = 0).
    const margin = rng.chance(0.15) ? -0.15 * h : 0.2 * h;
    const x = rng.uniform(margin, width - margin);
    const y = rng.uniform(0.45 * h + Math.min(margin, 0), height - 0.5 * h - Math.min(margin, 0));
    const f = makeFigure(rng, x, y, h);
    const [bx1, by1, bx2, by2] = polygonsBox([f.hull]);
    if (figures.some((o) => { const [ox1, oy1, ox2, oy2] = polygonsBox([o.hull]); const iw = Math.min(bx2, ox2) - Math.max(bx1, ox1), ih = Math.min(by2, oy2) - Math.max(by1, oy1); return iw > 0 && ih > 0 && (iw * ih) / ((bx2 - bx1) * (by2 - by1)) > 0.35; })) continue;
    figures.push(f);
  }
  const occluders: number[][] = [];
  for (const f of figures) parts.push(figureSvg(f));
  if (figures.length && rng.chance(0.35)) {
    const f = rng.choice(figures);
    const [bx1, by1, bx2, by2] = polygonsBox([f.hull]);
    const ow = rng.uniform(0.3, 0.8) * (bx2 - bx1), oh = rng.uniform(0.15, 0.35) * (by2 - by1);
    const ox = rng.uniform(bx1, bx2 - ow), oy = rng.uniform(by1, by2 - oh);
    const rect = [ox, oy, ox + ow, oy, ox + ow, oy + oh, ox, oy + oh];
    occluders.push(rect);
    parts.push(polygonSvg(rect, rgb(hsl(rng.uniform(0, 360), 0.15, rng.uniform(0.3, 0.7)))));
  }
  const annotations = figures.map((f, i) => {
    const covers = [...figures.slice(i + 1).map((o) => o.hull), ...occluders];
    const kps: number[] = [];
    let n = 0;
    for (const [x, y] of f.joints) {
      if (x < 0 || y < 0 || x >= width || y >= height) kps.push(0, 0, 0);
      else {
        const v = covers.some((c) => insidePolygon(x, y, c)) ? 1 : 2;
        kps.push(r2(x), r2(y), v);
        n++;
      }
    }
    const hull = f.hull.map((v, k) => Math.min(Math.max(v, 0), k % 2 ? height : width));
    const [x1, y1, x2, y2] = polygonsBox([hull]);
    return { category_id: 1, bbox: [x1, y1, x2 - x1, y2 - y1].map(r2), area: r2(polygonArea(hull)), iscrowd: 0 as const, segmentation: [hull.map(r2)], keypoints: kps, num_keypoints: n };
  });
  return { width, height, svg: parts.join(''), annotations: annotations.filter((a) => a.bbox[2] >= 2 && a.bbox[3] >= 2) };
}

/** Writes the "people" dataset. */
export async function generatePeople(opts: GenerateOptions & { size?: SizeOptions }): Promise<{ train: number; val: number }> {
  const size = opts.size ?? { minSize: 320, maxSize: 640 };
  return generateCocoSplits(opts, (split) => `person_keypoints_${split}.json`, [PERSON_CATEGORY], async (rng, file) => {
    const scene = makePeopleScene(rng, size);
    await renderSvg(scene.svg, scene.width, scene.height, file);
    return { width: scene.width, height: scene.height, annotations: (imageId, nextId) => scene.annotations.map((a) => ({ id: nextId(), image_id: imageId, ...a })) };
  });
}
