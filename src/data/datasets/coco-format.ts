/** The COCO annotation file format (the fields tsvision reads and writes). */
import type { Rle } from '../../structures/masks';

/** keypoints/skeleton only for keypoint categories; skeleton pairs are 1-based. */
export interface CocoCategory { id: number; name: string; supercategory: string; keypoints?: string[]; skeleton?: number[][] }
export interface CocoImage { id: number; file_name: string; width: number; height: number }
export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: number[];
  area: number;
  iscrowd: 0 | 1;
  segmentation: number[][] | Rle;
  keypoints?: number[];
  num_keypoints?: number;
}
export interface CocoFile { info?: unknown; images: CocoImage[]; annotations: CocoAnnotation[]; categories: CocoCategory[] }


/**
 * The one set of rules for COCO annotation files, shared by the training/test datasets
 * (src/data/datasets) and the evaluator (src/evaluation/coco): every failure is an
 * AnnotationError `FILE: RECORD: PROBLEM`, where RECORD is `images[i] (id N)`,
 * `categories[i] (id N)` or `annotations[i] (id N, image M)`, so both readers give the same
 * message for the same file.
 */
export interface CocoValidationOptions {
  /** Each image needs a `file_name` (readers that open the images; the evaluator does not). */
  requireFileNames?: boolean;
}

/** The error every COCO rule throws: names the file, the record and the problem. */
export class AnnotationError extends Error {
  override name = 'AnnotationError';
  constructor(readonly file: string, record: string, problem: string) {
    super(`${file}: ${record}: ${problem}`);
  }
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isFiniteNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Short JSON of a bad value for a message. */
function brief(x: unknown): string {
  const s = typeof x === 'number' ? String(x) : JSON.stringify(x);
  if (s === undefined) return String(x);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * Checks a parsed COCO annotation file: the three arrays; integer ids, unique within images,
 * categories and annotations; images with positive width and height; categories with a name;
 * annotations whose image_id and category_id exist, with a bbox [x, y, w, h] (finite, w, h >= 0)
 * and, when given, a finite area. Returns the file typed.
 */
export function validateCocoJson(file: string, json: unknown, opts: CocoValidationOptions = {}): CocoFile {
  if (!isObject(json)) throw new AnnotationError(file, 'top level', `expected an object with 'images', 'annotations' and 'categories', got ${brief(json)}`);
  for (const key of ['images', 'annotations', 'categories'] as const) {
    if (!Array.isArray(json[key])) throw new AnnotationError(file, 'top level', `'${key}' must be an array, got ${brief(json[key])}`);
  }
  const images = json.images as unknown[];
  const categories = json.categories as unknown[];
  const annotations = json.annotations as unknown[];
  const checkId = (kind: string, seen: Map<number, number>, rec: unknown, i: number): number => {
    if (!isObject(rec)) throw new AnnotationError(file, `${kind}[${i}]`, `expected an object, got ${brief(rec)}`);
    const id = rec.id;
    if (!Number.isInteger(id)) throw new AnnotationError(file, `${kind}[${i}]`, `id must be an integer, got ${brief(id)}`);
    const first = seen.get(id as number);
    if (first !== undefined) throw new AnnotationError(file, `${kind}[${i}] (id ${id})`, `duplicate id: ${kind}[${first}] has id ${id} too`);
    seen.set(id as number, i);
    return id as number;
  };
  const imageIds = new Map<number, number>();
  images.forEach((im, i) => {
    const id = checkId('images', imageIds, im, i);
    const r = im as Record<string, unknown>;
    const rec = `images[${i}] (id ${id})`;
    for (const k of ['width', 'height'] as const) {
      if (!isFiniteNum(r[k]) || !((r[k] as number) > 0)) throw new AnnotationError(file, rec, `${k} must be a positive number, got ${brief(r[k])}`);
    }
    if (opts.requireFileNames ? typeof r.file_name !== 'string' : r.file_name !== undefined && typeof r.file_name !== 'string') {
      throw new AnnotationError(file, rec, `file_name must be a string, got ${brief(r.file_name)}`);
    }
  });
  const categoryIds = new Map<number, number>();
  categories.forEach((c, i) => {
    const id = checkId('categories', categoryIds, c, i);
    const name = (c as Record<string, unknown>).name;
    if (typeof name !== 'string') throw new AnnotationError(file, `categories[${i}] (id ${id})`, `name must be a string, got ${brief(name)}`);
  });
  const annotationIds = new Map<number, number>();
  annotations.forEach((a, i) => {
    const id = checkId('annotations', annotationIds, a, i);
    const r = a as Record<string, unknown>;
    const rec = `annotations[${i}] (id ${id}, image ${brief(r.image_id)})`;
    if (!imageIds.has(r.image_id as number)) throw new AnnotationError(file, rec, `image_id ${brief(r.image_id)} is not in 'images'`);
    if (!categoryIds.has(r.category_id as number)) throw new AnnotationError(file, rec, `category_id ${brief(r.category_id)} is not in 'categories'`);
    const b = r.bbox;
    if (!Array.isArray(b) || b.length !== 4 || !b.every(isFiniteNum) || b[2] < 0 || b[3] < 0) {
      throw new AnnotationError(file, rec, `bbox must be [x, y, w, h] with w, h >= 0, got ${brief(b)}`);
    }
    if (r.area !== undefined && !isFiniteNum(r.area)) throw new AnnotationError(file, rec, `area must be a number, got ${brief(r.area)}`);
    if (r.segmentation !== undefined) {
      const im = images[imageIds.get(r.image_id as number)!] as Record<string, unknown>;
      checkSegmentationShape(file, rec, r.segmentation, im.height as number, im.width as number);
    }
  });
  return json as unknown as CocoFile;
}

/**
 * The form of an annotation's `segmentation`, when it has one: polygons (arrays of finite numbers; how many
 * there are and how long each is are the mask rule's business: see CocoDetection) or an RLE
 * `{size: [height, width], counts}` of the image's size, as pycocotools' annToRLE reads them.
 */
function checkSegmentationShape(file: string, rec: string, seg: unknown, height: number, width: number): void {
  if (Array.isArray(seg)) {
    seg.forEach((p, j) => {
      if (!Array.isArray(p) || !p.every(isFiniteNum)) throw new AnnotationError(file, rec, `segmentation[${j}] must be a polygon (an array of numbers), got ${brief(p)}`);
    });
    return;
  }
  if (isObject(seg) && (typeof seg.counts === 'string' || (Array.isArray(seg.counts) && seg.counts.every((c) => Number.isInteger(c) && (c as number) >= 0)))) {
    const size = seg.size;
    if (!Array.isArray(size) || size.length !== 2 || size[0] !== height || size[1] !== width) {
      throw new AnnotationError(file, rec, `RLE segmentation size must be the image's [height, width] = [${height}, ${width}], got ${brief(size)}`);
    }
    return;
  }
  throw new AnnotationError(file, rec, `segmentation must be polygons or an RLE {size, counts}, got ${brief(seg)}`);
}

/** How validateCocoJson names an annotation, for later errors about the same record. */
export function annotationRecord(ann: { id: number; image_id: number }, index: number): string {
  return `annotations[${index}] (id ${ann.id}, image ${ann.image_id})`;
}

/**
 * A JSON file's text without a leading UTF-8 byte-order mark: both COCO readers (the datasets and the
 * evaluator) accept one, whichever way the file was read (a TextDecoder drops it, fs.readFileSync keeps it).
 */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
