/**
 * COCO person keypoints (MMPose's CocoDataset semantics).
 *  - top-down: one sample per person, from ground-truth boxes (persons with at least one
 *    labelled keypoint, no crowd) or from a detection-results JSON above a score threshold;
 *  - bottom-up: one sample per image with all its persons (crowd regions as ignore boxes).
 */
import * as path from 'node:path';
import type { BackendSpec } from '../backends';
import { checkAnnotation, checkCocoFile, readJsonFile } from './coco';
import type { CocoAnnotation, CocoFile } from './coco-format';
import { AnnotationError, checkClasses, type DataInfo, type Dataset, ListDataset } from './dataset';

export interface CocoKeypointsOptions {
  annFile: string;
  imgDir: string;
  mode: 'topdown' | 'bottomup';
  /** Top-down from detected boxes: COCO results JSON [{image_id, category_id, bbox, score}]. */
  detections?: string;
  /** Minimum detection score (default 0). */
  detScoreThreshold?: number;
  classes?: string[];
  backend?: BackendSpec;
}

export class CocoKeypoints extends ListDataset {
  readonly name: string;
  private constructor(
    readonly file: string,
    readonly classes: string[],
    readonly keypointInfo: NonNullable<Dataset['keypointInfo']>,
    infos: DataInfo[],
  ) {
    super(infos);
    this.name = `coco keypoints ${path.basename(file)}`;
  }

  static async load(opts: CocoKeypointsOptions): Promise<CocoKeypoints> {
    const coco = checkCocoFile(opts.annFile, await readJsonFile(opts.annFile, opts.backend));
    const dets = opts.detections ? await readJsonFile(opts.detections, opts.backend) : undefined;
    return CocoKeypoints.fromJson(opts, coco, dets);
  }

  static fromJson(opts: CocoKeypointsOptions, coco: CocoFile, detections?: unknown): CocoKeypoints {
    const file = opts.annFile;
    const classes = coco.categories.map((c) => c.name);
    checkClasses(file, classes, opts.classes);
    const cat = coco.categories[0];
    if (coco.categories.length !== 1 || !Array.isArray(cat.keypoints)) throw new AnnotationError(file, 'categories', 'expected one category with a keypoints list (person)');
    const k = cat.keypoints.length;
    const names = cat.keypoints;
    const skeleton = (cat.skeleton ?? []).map(([a, b]) => [a - 1, b - 1] as [number, number]);
    const flipPairs: Array<[number, number]> = [];
    names.forEach((n, i) => {
      const j = n.startsWith('left_') ? names.indexOf('right_' + n.slice(5)) : -1;
      if (j >= 0) flipPairs.push([i, j]);
    });
    const images = new Map(coco.images.map((im) => [im.id, im]));
    const catToLabel = new Map([[cat.id, 0]]);
    const infos: DataInfo[] = [];
    const imgPath = (id: number) => path.join(opts.imgDir, images.get(id)!.file_name);
    const byImage = new Map<number, CocoAnnotation[]>();
    coco.annotations.forEach((ann, i) => {
      const box = checkAnnotation(file, ann, i, images, catToLabel);
      if (!ann.iscrowd && (!Array.isArray(ann.keypoints) || ann.keypoints.length !== 3 * k)) {
        throw new AnnotationError(file, `annotation ${ann.id} (image ${ann.image_id})`, `keypoints must have ${3 * k} numbers, got ${Array.isArray(ann.keypoints) ? ann.keypoints.length : typeof ann.keypoints}`);
      }
      if (opts.mode === 'topdown' && !opts.detections && !ann.iscrowd && (ann.num_keypoints ?? 0) > 0) {
        const im = images.get(ann.image_id)!;
        infos.push({
          imgId: im.id, imgPath: imgPath(im.id), width: im.width, height: im.height,
          boxes: clipBox(box, im.width, im.height), labels: [0], keypoints: ann.keypoints!, numKeypoints: k, annIds: [ann.id],
        });
      }
      let list = byImage.get(ann.image_id);
      if (!list) byImage.set(ann.image_id, (list = []));
      list.push(ann);
    });
    if (opts.mode === 'topdown' && opts.detections) infos.push(...detectionInfos(opts, detections, images, k, cat.id, imgPath));
    if (opts.mode === 'bottomup') {
      for (const im of coco.images) {
        const anns = byImage.get(im.id) ?? [];
        const people = anns.filter((a) => !a.iscrowd && (a.num_keypoints ?? 0) > 0);
        infos.push({
          imgId: im.id, imgPath: imgPath(im.id), width: im.width, height: im.height,
          boxes: people.flatMap((a) => clipBox([a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]], im.width, im.height)),
          labels: people.map(() => 0),
          keypoints: people.flatMap((a) => a.keypoints!),
          numKeypoints: k,
          ignoreBoxes: anns.filter((a) => a.iscrowd).flatMap((a) => [a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]]),
          annIds: people.map((a) => a.id),
        });
      }
    }
    return new CocoKeypoints(file, classes, { names, skeleton, flipPairs }, infos);
  }
}

function clipBox(b: number[], w: number, h: number): number[] {
  return [Math.max(0, b[0]), Math.max(0, b[1]), Math.min(w, b[2]), Math.min(h, b[3])];
}

function detectionInfos(opts: CocoKeypointsOptions, detections: unknown, images: Map<number, { id: number; width: number; height: number }>, k: number, catId: number, imgPath: (id: number) => string): DataInfo[] {
  const file = opts.detections!;
  if (!Array.isArray(detections)) throw new AnnotationError(file, 'top level', 'expected an array of detections');
  const thr = opts.detScoreThreshold ?? 0;
  const out: DataInfo[] = [];
  detections.forEach((d: { image_id?: number; category_id?: number; bbox?: number[]; score?: number }, i) => {
    const rec = `detection #${i}`;
    if (!images.has(d?.image_id as number)) throw new AnnotationError(file, rec, `image_id ${d?.image_id} is not in ${opts.annFile}`);
    if (!Array.isArray(d.bbox) || d.bbox.length !== 4 || typeof d.score !== 'number') throw new AnnotationError(file, `${rec} (image ${d.image_id})`, 'expected bbox [x, y, w, h] and a numeric score');
    if (d.category_id !== undefined && d.category_id !== catId) return;
    if (d.score < thr || d.bbox[2] <= 0 || d.bbox[3] <= 0) return;
    const im = images.get(d.image_id!)!;
    out.push({
      imgId: im.id, imgPath: imgPath(im.id), width: im.width, height: im.height,
      boxes: clipBox([d.bbox[0], d.bbox[1], d.bbox[0] + d.bbox[2], d.bbox[1] + d.bbox[3]], im.width, im.height),
      labels: [0], keypoints: new Array(3 * k).fill(0), numKeypoints: k, boxScore: d.score,
    });
  });
  return out;
}
