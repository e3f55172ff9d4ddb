/**
 * COCO person keypoints (MMPose 1.x's CocoDataset semantics, base_coco_style_dataset.py).
 *  - top-down from ground truth: one sample per person, images in file order and each image's
 *    annotations in file order; the box clipped to [0, w - 1] x [0, h - 1] in float32
 *    (parse_data_info), kept when not crowd, num_keypoints > 0, the clipped box has positive
 *    width and height and some keypoint coordinate is positive (_is_valid_instance);
 *  - top-down from a person-detection results JSON (_load_detection_results): detections of
 *    category 1 in file order, boxes not clipped, the score kept per sample (float32) and,
 *    with bboxScoreThr, samples below it dropped (filter_cfg.bbox_score_thr);
 *  - bottom-up: one sample per image with all its persons (crowd regions as ignore boxes).
 * Each top-down record carries MMPose's sample id (`instanceId`): the annotation id, or the
 * detection's index among the category-1 detections.
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
  /** Drop detections scoring below this (MMPose filter_cfg bbox_score_thr); default none. */
  bboxScoreThr?: number;
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
      checkAnnotation(file, ann, i, images, catToLabel);
      if (!ann.iscrowd && (!Array.isArray(ann.keypoints) || ann.keypoints.length !== 3 * k)) {
        throw new AnnotationError(file, `annotation ${ann.id} (image ${ann.image_id})`, `keypoints must have ${3 * k} numbers, got ${Array.isArray(ann.keypoints) ? ann.keypoints.length : typeof ann.keypoints}`);
      }
      let list = byImage.get(ann.image_id);
      if (!list) byImage.set(ann.image_id, (list = []));
      list.push(ann);
    });
    if (opts.mode === 'topdown' && !opts.detections) {
      for (const im of coco.images) {
        for (const ann of byImage.get(im.id) ?? []) {
          const info = topdownInfo(ann, im, k, imgPath(im.id));
          if (info) infos.push(info);
        }
      }
    }
    if (opts.mode === 'topdown' && opts.detections) infos.push(...detectionInfos(opts, detections, images, k, imgPath));
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

/** MMPose parse_data_info + _is_valid_instance for one annotation: the top-down record, or null. */
function topdownInfo(ann: CocoAnnotation, im: { id: number; width: number; height: number }, k: number, imgPath: string): DataInfo | null {
  if (ann.iscrowd || !Array.isArray(ann.keypoints)) return null;
  const f = Math.fround;
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  const [x, y, w, h] = ann.bbox;
  const box = [f(clip(x, im.width - 1)), f(clip(y, im.height - 1)), f(clip(x + w, im.width - 1)), f(clip(y + h, im.height - 1))];
  const kps = ann.keypoints.map((v) => f(v));
  let labelled = 0, maxXy = -Infinity;
  for (let j = 0; j < k; j++) {
    const m = Math.max(kps[3 * j], kps[3 * j + 1]);
    if (m !== 0) labelled++;
    maxXy = Math.max(maxXy, m);
  }
  const numKeypoints = ann.num_keypoints ?? labelled;
  if (numKeypoints === 0 || !(f(box[2] - box[0]) > 0 && f(box[3] - box[1]) > 0) || maxXy <= 0) return null;
  return {
    imgId: im.id, imgPath, width: im.width, height: im.height,
    boxes: box, labels: [0], keypoints: kps, numKeypoints: k, annIds: [ann.id], instanceId: ann.id,
  };
}

function detectionInfos(opts: CocoKeypointsOptions, detections: unknown, images: Map<number, { id: number; width: number; height: number }>, k: number, imgPath: (id: number) => string): DataInfo[] {
  const file = opts.detections!;
  if (!Array.isArray(detections)) throw new AnnotationError(file, 'top level', 'expected an array of detections');
  const thr = opts.bboxScoreThr;
  const out: DataInfo[] = [];
  let id = 0;
  detections.forEach((d: { image_id?: number; category_id?: number; bbox?: number[]; score?: number }, i) => {
    const rec = `detection #${i}`;
    if (!images.has(d?.image_id as number)) throw new AnnotationError(file, rec, `image_id ${d?.image_id} is not in ${opts.annFile}`);
    if (!Array.isArray(d.bbox) || d.bbox.length < 4 || d.bbox.slice(0, 4).some((v) => typeof v !== 'number' || !Number.isFinite(v)) || typeof d.score !== 'number') {
      throw new AnnotationError(file, `${rec} (image ${d.image_id})`, 'expected bbox [x, y, w, h] and a numeric score');
    }
    // MMPose takes category 1 (person) whatever the annotation file calls it.
    if (d.category_id !== 1) return;
    const instanceId = id++;
    const score = Math.fround(d.score);
    if (thr !== undefined && score < thr) return;
    const im = images.get(d.image_id!)!;
    const [x, y, w, h] = d.bbox.map((v) => Math.fround(v));
    out.push({
      imgId: im.id, imgPath: imgPath(im.id), width: im.width, height: im.height,
      boxes: [x, y, Math.fround(x + w), Math.fround(y + h)],
      labels: [0], keypoints: new Array(3 * k).fill(0), numKeypoints: k, boxScore: score, instanceId,
    });
  });
  return out;
}
