/**
 * Detection results in COCO's results format, loaded into typed columns.
 *
 * Areas and boxes are derived as the reference's loadRes does, which picks one rule for the
 * whole file from its first record:
 *   - first record has a non-empty `bbox`: area = w*h (even for segm evaluation);
 *   - else it has `segmentation` (an RLE): area = mask area, bbox = mask's box when absent;
 *   - else it has `keypoints`: bbox = box of all keypoints (visible or not), area = its w*h.
 */
import type { CocoDataset } from './dataset';
import { checkRleJson } from './dataset';
import { CocoFormatError, isFiniteNumber, isNumberArray, readJsonFile, show } from './errors';
import { rleArea, rleFromJson, rleToBbox, type Rle, type RleJson } from './mask';

export type IouType = 'bbox' | 'segm' | 'keypoints';

/** One result as it stands in a results JSON file. */
export interface CocoResult {
  image_id: number;
  category_id: number;
  score: number;
  /** [x, y, w, h] in pixels. */
  bbox?: number[];
  /** Compressed (or uncompressed) RLE at the image's size. */
  segmentation?: RleJson;
  /** K (x, y, score) triples. */
  keypoints?: number[];
  [key: string]: unknown;
}

export interface LoadResultsOptions {
  /** The evaluation the results are for: decides which fields every record must have. */
  iouType: IouType;
  /** Name used in error messages for in-memory results (a file's name is used for files). */
  source?: string;
  /** Keypoints per instance for iouType keypoints (default: the category's keypoint names, else 17). */
  numKeypoints?: number;
}

/** N results as typed columns; result i has id i + 1, as in the reference. */
export class CocoResults {
  constructor(
    /** File name or label, for error messages. */
    readonly source: string,
    readonly count: number,
    readonly imageId: Float64Array,
    readonly categoryId: Float64Array,
    readonly score: Float64Array,
    /** [N*4] x, y, w, h. */
    readonly bbox: Float64Array,
    readonly area: Float64Array,
    /** Masks (segm), else null. */
    readonly rles: Rle[] | null,
    /** [N * keypointStride] x, y, score triples (keypoints), else null. */
    readonly keypoints: Float64Array | null,
    readonly keypointStride: number,
  ) {}

  /** Names result i for error messages. */
  describe(i: number): string {
    return `${this.source}: result ${i} (image_id ${this.imageId[i]})`;
  }
}

/**
 * Loads results from a JSON file or from in-memory records, checked against the ground truth:
 * every record must name a known image and category, have a finite score, and carry what
 * `iouType` needs (a valid box, an RLE mask, or 3*K keypoint numbers).
 */
export function loadResults(gt: CocoDataset, results: string | readonly CocoResult[], options: LoadResultsOptions): CocoResults {
  const source = typeof results === 'string' ? results : options.source ?? '<results>';
  const records = typeof results === 'string' ? readJsonFile(results) : results;
  if (!Array.isArray(records)) throw new CocoFormatError(`${source}: expected an array of results, got ${show(records)}`);
  const { iouType } = options;
  const n = records.length;
  const imageId = new Float64Array(n);
  const categoryId = new Float64Array(n);
  const score = new Float64Array(n);
  const bbox = new Float64Array(4 * n);
  const area = new Float64Array(n);
  const rles: Rle[] | null = iouType === 'segm' ? new Array<Rle>(n) : null;
  let numKeypoints = options.numKeypoints ?? 17;
  if (options.numKeypoints === undefined && iouType === 'keypoints') {
    const named = gt.categories.find((c) => Array.isArray(c.keypoints));
    if (named) numKeypoints = named.keypoints!.length;
  }
  const stride = 3 * numKeypoints;
  const keypoints = iouType === 'keypoints' ? new Float64Array(n * stride) : null;

  const first = records[0] as CocoResult | undefined;
  if (n > 0 && (typeof first !== 'object' || first === null)) throw new CocoFormatError(`${source}: result 0: not an object, got ${show(first)}`);
  const rule = first === undefined ? 'bbox'
    : Array.isArray(first.bbox) && first.bbox.length > 0 ? 'bbox'
    : first.segmentation !== undefined ? 'segmentation'
    : first.keypoints !== undefined ? 'keypoints'
    : null;
  if (rule === null) throw new CocoFormatError(`${source}: result 0: needs a bbox, a segmentation or keypoints`);

  for (let i = 0; i < n; i++) {
    const r = records[i] as CocoResult;
    if (typeof r !== 'object' || r === null) throw new CocoFormatError(`${source}: result ${i}: not an object, got ${show(r)}`);
    const fail = (msg: string): never => {
      throw new CocoFormatError(`${source}: result ${i} (image_id ${show(r.image_id)}): ${msg}`);
    };
    if (!isFiniteNumber(r.image_id) || gt.image(r.image_id) === undefined) fail('image_id is not in the ground truth');
    if (!isFiniteNumber(r.category_id) || gt.category(r.category_id) === undefined) fail(`unknown category_id ${show(r.category_id)}`);
    if (!isFiniteNumber(r.score)) fail(`score must be a finite number, got ${show(r.score)}`);
    imageId[i] = r.image_id;
    categoryId[i] = r.category_id;
    score[i] = r.score;

    let mask: Rle | undefined;
    if (r.segmentation !== undefined && (rule === 'segmentation' || iouType === 'segm')) {
      try {
        mask = rleFromJson(checkRleJson(r.segmentation));
      } catch (err) {
        fail(`malformed segmentation: ${(err as Error).message}`);
      }
      const img = gt.image(r.image_id)!;
      let sum = 0;
      for (const c of mask!.counts) sum += c;
      if (sum !== mask!.h * mask!.w) fail(`malformed segmentation: counts cover ${sum} pixels, size is ${mask!.h}x${mask!.w}`);
      if (isFiniteNumber(img.height) && (mask!.h !== img.height || mask!.w !== img.width)) {
        fail(`segmentation size ${mask!.h}x${mask!.w} differs from the image's ${img.height}x${img.width}`);
      }
    }
    if (iouType === 'segm') {
      if (mask === undefined) fail('segm evaluation needs a segmentation (compressed RLE)');
      rles![i] = mask!;
    }
    if (iouType === 'keypoints' || rule === 'keypoints') {
      if (!isNumberArray(r.keypoints)) fail(`keypoints must be an array of numbers, got ${show(r.keypoints)}`);
      if (iouType === 'keypoints' && r.keypoints!.length !== stride) {
        fail(`keypoints must have ${stride} numbers (${numKeypoints} x, y, score triples), got ${r.keypoints!.length}`);
      }
      if (keypoints) keypoints.set(r.keypoints!, i * stride);
    }

    const b = bbox.subarray(4 * i, 4 * i + 4);
    if (rule === 'bbox') {
      if (!isNumberArray(r.bbox, 4)) fail(`bbox must be 4 finite numbers [x, y, w, h], got ${show(r.bbox)}`);
      if (r.bbox![2] < 0 || r.bbox![3] < 0) fail(`bbox has negative size: ${show(r.bbox)}`);
      b.set(r.bbox!);
      area[i] = r.bbox![2] * r.bbox![3];
    } else if (rule === 'segmentation') {
      if (mask === undefined) fail('needs a segmentation (compressed RLE), as the first result has one');
      area[i] = rleArea(mask!);
      if (r.bbox !== undefined) {
        if (!isNumberArray(r.bbox, 4) || r.bbox[2] < 0 || r.bbox[3] < 0) fail(`bbox must be [x, y, w, h] with w, h >= 0, got ${show(r.bbox)}`);
        b.set(r.bbox);
      } else b.set(rleToBbox(mask!));
    } else {
      const s = r.keypoints!;
      let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
      for (let j = 0; j + 1 < s.length; j += 3) {
        x0 = Math.min(x0, s[j]);
        x1 = Math.max(x1, s[j]);
        y0 = Math.min(y0, s[j + 1]);
        y1 = Math.max(y1, s[j + 1]);
      }
      if (!(x1 >= x0)) fail('keypoints are empty');
      b[0] = x0;
      b[1] = y0;
      b[2] = x1 - x0;
      b[3] = y1 - y0;
      area[i] = (x1 - x0) * (y1 - y0);
    }
  }
  return new CocoResults(source, n, imageId, categoryId, score, bbox, area, rles, keypoints, stride);
}
