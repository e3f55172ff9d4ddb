/**
 * COCO detection / instance segmentation (MMDetection's CocoDataset semantics): polygons
 * and RLE masks, crowd annotations as ignore regions, images without usable annotations
 * dropped in training, class names from the annotation file.
 */
import * as path from 'node:path';
import type { Rle } from '../../structures/masks';
import { createBackend, type BackendSpec } from '../backends';
import { annotationRecord, stripBom, validateCocoJson, type CocoAnnotation, type CocoCategory, type CocoFile, type CocoImage } from './coco-format';
import { AnnotationError, checkClasses, type DataInfo, type Dataset, ListDataset } from './dataset';

export interface CocoDetectionOptions {
  /** Annotation JSON (a key for the backend, usually a path). */
  annFile: string;
  /** Folder that `file_name`s are relative to. */
  imgDir: string;
  /** Expected class names, in order; must equal the file's categories. */
  classes?: string[];
  /** Drop images with no non-crowd annotation (training). */
  filterEmpty?: boolean;
  /** Drop images whose shorter side is below this. */
  minSize?: number;
  /** Keep instance masks. */
  withMasks?: boolean;
  /** Where the annotation file is read from (images use the loader's backend). */
  backend?: BackendSpec;
}

/** Reads and parses a JSON annotation file; a syntax error names the file. */
export async function readJsonFile(file: string, backend?: BackendSpec): Promise<unknown> {
  const b = createBackend(backend);
  try {
    const text = await b.getText(file);
    try {
      return JSON.parse(stripBom(text));
    } catch (err) {
      throw new AnnotationError(file, 'JSON', (err as Error).message);
    }
  } finally {
    await b.close();
  }
}

/** Checks a COCO file with the rules shared with the evaluator (validateCocoJson); images need a file_name. */
export function checkCocoFile(file: string, json: unknown): CocoFile {
  return validateCocoJson(file, json, { requireFileNames: true });
}

/**
 * An annotation's bbox as xyxy, after checkCocoFile validated the file; the checks repeat the
 * shared rules' for records that did not come through it.
 */
export function checkAnnotation(file: string, ann: CocoAnnotation, index: number, images: Map<number, CocoImage>, catToLabel: Map<number, number>): [number, number, number, number] {
  const rec = annotationRecord(ann, index);
  if (!images.has(ann?.image_id)) throw new AnnotationError(file, rec, `image_id ${ann?.image_id} is not in 'images'`);
  if (!catToLabel.has(ann.category_id)) throw new AnnotationError(file, rec, `category_id ${ann.category_id} is not in 'categories'`);
  const b = ann.bbox;
  if (!Array.isArray(b) || b.length !== 4 || b.some((v) => typeof v !== 'number' || !Number.isFinite(v)) || b[2] < 0 || b[3] < 0) {
    throw new AnnotationError(file, rec, `bbox must be [x, y, w, h] with w, h >= 0, got ${JSON.stringify(b)}`);
  }
  return [b[0], b[1], b[0] + b[2], b[1] + b[3]];
}

export class CocoDetection extends ListDataset {
  readonly name: string;
  private constructor(readonly file: string, readonly classes: string[], readonly categories: CocoCategory[], infos: DataInfo[]) {
    super(infos);
    this.name = `coco ${path.basename(file)}`;
  }

  static async load(opts: CocoDetectionOptions): Promise<CocoDetection> {
    return CocoDetection.fromJson(opts, await readJsonFile(opts.annFile, opts.backend) as CocoFile);
  }

  /** Builds the dataset from a parsed file; the file is checked first (checkCocoFile). */
  static fromJson(opts: CocoDetectionOptions, json: CocoFile): CocoDetection {
    const file = opts.annFile;
    const coco = checkCocoFile(file, json);
    const classes = coco.categories.map((c) => c.name);
    checkClasses(file, classes, opts.classes);
    const catToLabel = new Map(coco.categories.map((c, i) => [c.id, i]));
    const images = new Map(coco.images.map((im) => [im.id, im]));
    const byImage = new Map<number, Array<[CocoAnnotation, number]>>();
    coco.annotations.forEach((ann, i) => {
      let list = byImage.get(ann.image_id);
      if (!list) byImage.set(ann.image_id, (list = []));
      list.push([ann, i]);
    });
    const infos: DataInfo[] = [];
    for (const im of coco.images) {
      if (opts.minSize && Math.min(im.width, im.height) < opts.minSize) continue;
      const info = parseImageAnnotations(file, im, byImage.get(im.id) ?? [], catToLabel, opts.withMasks ?? true);
      info.imgPath = path.join(opts.imgDir, im.file_name);
      if (opts.filterEmpty && info.labels.length === 0) continue;
      infos.push(info);
    }
    return new CocoDetection(file, classes, coco.categories, infos);
  }
}

/**
 * MMDetection's parse_data_info: usable boxes, crowd regions to ignore, masks. With masks,
 * polygons with fewer than 3 points (or an odd number of coordinates) are dropped, and an
 * instance left with none is ignored like a crowd region (MMDetection 3.3's
 * LoadAnnotations._process_masks sets its ignore_flag).
 */
function parseImageAnnotations(file: string, im: CocoImage, anns: Array<[CocoAnnotation, number]>, catToLabel: Map<number, number>, withMasks: boolean): DataInfo {
  const info: DataInfo = { imgId: im.id, imgPath: im.file_name, width: im.width, height: im.height, boxes: [], labels: [], ignoreBoxes: [], annIds: [] };
  if (withMasks) info.masks = [];
  for (const [ann, index] of anns) {
    if ((ann as { ignore?: boolean }).ignore) continue;
    const [x1, y1, x2, y2] = [ann.bbox[0], ann.bbox[1], ann.bbox[0] + ann.bbox[2], ann.bbox[1] + ann.bbox[3]];
    const interW = Math.max(0, Math.min(x2, im.width) - Math.max(x1, 0));
    const interH = Math.max(0, Math.min(y2, im.height) - Math.max(y1, 0));
    if (interW * interH === 0 || ann.area <= 0 || ann.bbox[2] < 1 || ann.bbox[3] < 1) continue;
    if (ann.iscrowd) {
      info.ignoreBoxes!.push(x1, y1, x2, y2);
      continue;
    }
    const mask = withMasks ? checkSegmentation(file, ann, index) : undefined;
    if (Array.isArray(mask) && mask.length === 0) {
      info.ignoreBoxes!.push(x1, y1, x2, y2);
      continue;
    }
    info.boxes.push(x1, y1, x2, y2);
    info.labels.push(catToLabel.get(ann.category_id)!);
    info.annIds!.push(ann.id);
    if (mask) info.masks!.push(mask);
  }
  return info;
}

/** An instance's mask: its valid polygons (possibly none) or its RLE. */
function checkSegmentation(file: string, ann: CocoAnnotation, index: number): number[][] | Rle {
  const seg = ann.segmentation;
  const rec = annotationRecord(ann, index);
  // validateCocoJson has checked the form (polygons of numbers, or an RLE of the image's size)
  if (seg === undefined) throw new AnnotationError(file, rec, 'has no segmentation, and masks are loaded (withMasks)');
  // Polygons with fewer than 3 points (or an odd number of coordinates) are dropped, as MMDetection does.
  if (Array.isArray(seg)) return seg.filter((p) => p.length >= 6 && p.length % 2 === 0);
  return seg;
}
