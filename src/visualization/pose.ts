/** Drawing top-down pose results on images (tsvision demo for pose configs, tsvision topdown-demo). */
import * as fs from 'node:fs';
import sharp from 'sharp';
import { COCO_SKELETON } from '../data/synthetic/people';

/** One person to draw: COCO keypoint triples in image pixels and, optionally, its box. */
export interface DrawnPose {
  /** [K*3] x, y, score. */
  keypoints: readonly number[];
  /** [x, y, w, h] image pixels. */
  bbox?: readonly number[];
}

const BLUE = '#3399ff', GREEN = '#00ff00', ORANGE = '#ff8000';

/** MMPose's COCO link colours (configs/_base_/datasets/coco.py skeleton_info), in COCO_SKELETON's order. */
const COCO_LINK_COLORS = [
  GREEN, GREEN, ORANGE, ORANGE, BLUE, BLUE, BLUE, BLUE, GREEN, ORANGE, GREEN, ORANGE, BLUE, BLUE, BLUE, BLUE, BLUE, BLUE, BLUE,
];

/** MMPose's COCO keypoint colours: the face blue, then left green and right orange. */
function keypointColor(k: number): string {
  return k < 5 ? BLUE : k % 2 === 1 ? GREEN : ORANGE;
}

export interface DrawPosesOptions {
  /** Keypoints (and links between two of them) scoring at least this are drawn; default 0.3 (MMPose's kpt_thr). */
  kptThr?: number;
  /** Draw each person's box (MMPose's --draw-bbox); default true. */
  drawBbox?: boolean;
  /** Links as 1-based keypoint pairs; default COCO's 19 (the annotation files' skeleton). */
  skeleton?: ReadonlyArray<readonly [number, number]>;
  /** Keypoint radius in pixels; default 3 (MMPose's demo --radius). */
  radius?: number;
  /** Link and box width in pixels; default 2. */
  lineWidth?: number;
}

/**
 * Draws each person's skeleton (links in MMPose's COCO colours, keypoints as dots) and box over
 * the image, as MMPose's PoseLocalVisualizer; written as PNG through a temporary file renamed
 * into place.
 */
export async function drawPoses(imagePath: string, poses: readonly DrawnPose[], out: string, opts: DrawPosesOptions = {}): Promise<void> {
  const thr = opts.kptThr ?? 0.3;
  const skeleton = opts.skeleton ?? COCO_SKELETON;
  const radius = opts.radius ?? 3;
  const lw = opts.lineWidth ?? 2;
  const meta = await sharp(imagePath).metadata();
  const w = meta.width ?? 0, h = meta.height ?? 0;
  const shapes: string[] = [];
  poses.forEach((p, i) => {
    const kp = p.keypoints;
    if (kp.length % 3 !== 0) throw new Error(`drawPoses: person ${i}: ${kp.length} keypoint values, expected (x, y, score) triples`);
    const n = kp.length / 3;
    const shown = (k: number) => k >= 0 && k < n && kp[3 * k + 2] >= thr;
    if (p.bbox && (opts.drawBbox ?? true)) {
      const [x, y, bw, bh] = p.bbox;
      shapes.push(`<rect x="${x}" y="${y}" width="${bw}" height="${bh}" fill="none" stroke="${GREEN}" stroke-width="${lw}"/>`);
    }
    skeleton.forEach(([a1, b1], l) => {
      const a = a1 - 1, b = b1 - 1;
      if (!shown(a) || !shown(b)) return;
      const color = skeleton === COCO_SKELETON ? COCO_LINK_COLORS[l] : BLUE;
      shapes.push(`<line x1="${kp[3 * a]}" y1="${kp[3 * a + 1]}" x2="${kp[3 * b]}" y2="${kp[3 * b + 1]}" stroke="${color}" stroke-width="${lw}" stroke-linecap="round"/>`);
    });
    for (let k = 0; k < n; k++) {
      if (shown(k)) shapes.push(`<circle cx="${kp[3 * k]}" cy="${kp[3 * k + 1]}" r="${radius}" fill="${keypointColor(k)}"/>`);
    }
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${shapes.join('')}</svg>`;
  const tmp = `${out}.tmp-${process.pid}.png`;
  try {
    await sharp(imagePath).composite([{ input: Buffer.from(svg), top: 0, left: 0 }]).png().toFile(tmp);
    fs.renameSync(tmp, out);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
