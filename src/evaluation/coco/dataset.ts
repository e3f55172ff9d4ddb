/** A COCO ground-truth dataset: images, annotations, categories and the lookups evaluation needs. */
import { AnnotationError, annotationRecord, validateCocoJson } from '../../data/datasets/coco-format';
import { CocoFormatError, isFiniteNumber, isNumberArray, readJsonFile, show } from './errors';
import { rleFromJson, rleFromPolygons, type Rle, type RleJson } from './mask';

export interface CocoImage {
  id: number;
  width: number;
  height: number;
  file_name?: string;
  [key: string]: unknown;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
  /** Keypoint names (keypoint datasets). */
  keypoints?: string[];
  skeleton?: number[][];
  [key: string]: unknown;
}

/** Polygons ([x1, y1, x2, y2, ...] each) or an RLE (crowd regions). */
export type CocoSegmentation = number[][] | RleJson;

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** [x, y, w, h] in pixels. */
  bbox?: number[];
  area?: number;
  iscrowd?: number;
  segmentation?: CocoSegmentation;
  /** K (x, y, visibility) triples. */
  keypoints?: number[];
  num_keypoints?: number;
  [key: string]: unknown;
}

export interface CocoJson {
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
  [key: string]: unknown;
}

const byNumber = (a: number, b: number): number => a - b;

/** A COCO ground truth, indexed by image and category. Records are checked on construction. */
export class CocoDataset {
  /** Where the data came from (a file name), used in error messages. */
  readonly source: string;
  readonly images: readonly CocoImage[];
  readonly annotations: readonly CocoAnnotation[];
  readonly categories: readonly CocoCategory[];
  /** Sorted image ids. */
  readonly imageIds: readonly number[];
  /** Sorted category ids. */
  readonly categoryIds: readonly number[];
  private readonly imageById = new Map<number, CocoImage>();
  private readonly categoryById = new Map<number, CocoCategory>();
  private readonly annotationById = new Map<number, CocoAnnotation>();
  private readonly annsByImage = new Map<number, CocoAnnotation[]>();
  private readonly annsByCategory = new Map<number, CocoAnnotation[]>();

  /** Loads a ground-truth JSON file. */
  static fromFile(file: string): CocoDataset {
    return new CocoDataset(readJsonFile(file), file);
  }

  constructor(json: unknown, source = '<ground truth>') {
    this.source = source;
    // The rules every COCO reader in tsvision applies (the training datasets too), with the same messages.
    try {
      validateCocoJson(source, json);
    } catch (err) {
      if (err instanceof AnnotationError) throw new CocoFormatError(err.message);
      throw err;
    }
    const obj = json as Record<string, unknown>;
    this.images = obj.images as CocoImage[];
    this.annotations = obj.annotations as CocoAnnotation[];
    this.categories = obj.categories as CocoCategory[];
    for (const img of this.images) this.imageById.set(img.id, img);
    for (const cat of this.categories) {
      this.categoryById.set(cat.id, cat);
      this.annsByCategory.set(cat.id, []);
    }
    for (const ann of this.annotations) {
      this.annotationById.set(ann.id, ann);
      let list = this.annsByImage.get(ann.image_id);
      if (!list) this.annsByImage.set(ann.image_id, (list = []));
      list.push(ann);
      this.annsByCategory.get(ann.category_id)!.push(ann);
    }
    this.imageIds = [...this.imageById.keys()].sort(byNumber);
    this.categoryIds = [...this.categoryById.keys()].sort(byNumber);
  }

  image(id: number): CocoImage | undefined {
    return this.imageById.get(id);
  }

  category(id: number): CocoCategory | undefined {
    return this.categoryById.get(id);
  }

  annotation(id: number): CocoAnnotation | undefined {
    return this.annotationById.get(id);
  }

  /** Annotations of one image, in file order. */
  annotationsOfImage(imageId: number): readonly CocoAnnotation[] {
    return this.annsByImage.get(imageId) ?? [];
  }

  /** Annotations of one category, in file order. */
  annotationsOfCategory(categoryId: number): readonly CocoAnnotation[] {
    return this.annsByCategory.get(categoryId) ?? [];
  }

  /** Names the annotation at `index` for error messages. */
  describeAnnotation(index: number): string {
    return `${this.source}: ${annotationRecord(this.annotations[index], index)}`;
  }

  /**
   * The annotation's mask as an RLE at its image's size (the reference's annToRLE):
   * polygons are rasterized and merged, uncompressed and compressed RLEs decoded.
   */
  annotationRle(index: number): Rle {
    const ann = this.annotations[index];
    const img = this.imageById.get(ann.image_id)!;
    const segm = ann.segmentation;
    const where = this.describeAnnotation(index);
    if (segm === undefined) throw new CocoFormatError(`${where}: no segmentation`);
    if (!isFiniteNumber(img.height) || !isFiniteNumber(img.width)) {
      throw new CocoFormatError(`${this.source}: image ${img.id}: height and width are needed for masks, got ${show(img.height)} x ${show(img.width)}`);
    }
    try {
      if (Array.isArray(segm)) {
        if (!segm.every((p) => isNumberArray(p))) throw new Error(`polygons must be arrays of numbers, got ${show(segm)}`);
        return rleFromPolygons(segm, img.height, img.width);
      }
      return rleFromJson(checkRleJson(segm));
    } catch (err) {
      throw new CocoFormatError(`${where}: malformed segmentation: ${(err as Error).message}`);
    }
  }
}

/** Checks the shape of a JSON RLE ({size: [h, w], counts: string | number[]}). */
export function checkRleJson(x: unknown): RleJson {
  const r = x as RleJson;
  if (typeof x !== 'object' || x === null || !isNumberArray(r.size, 2)) throw new Error(`expected an RLE {size: [h, w], counts}, got ${show(x)}`);
  if (typeof r.counts !== 'string' && !isNumberArray(r.counts)) throw new Error(`RLE counts must be a string or an array of numbers, got ${show(r.counts)}`);
  if (Array.isArray(r.counts)) {
    let sum = 0;
    for (const c of r.counts) sum += c;
    if (r.counts.some((c) => c < 0 || !Number.isInteger(c)) || sum !== r.size[0] * r.size[1]) {
      throw new Error(`RLE counts must be non-negative integers summing to ${r.size[0]}*${r.size[1]}`);
    }
  }
  return r;
}
