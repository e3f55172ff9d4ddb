/**
 * What a dataset is to the loader: a list of serializable records (one per sample), each
 * naming its image file and holding its annotations as plain arrays. Records are cheap to
 * post to worker threads; the worker reads the file and builds the typed Sample.
 */
import type { Rle } from '../../structures/masks';
import { AnnotationError } from './coco-format';

/** One sample's annotations, in the image's original pixels. */
export interface DataInfo {
  imgId: number;
  /** Key of the image for the file backend (a path on disk). */
  imgPath: string;
  width: number;
  height: number;
  /** [N*4] xyxy boxes of the (non-crowd) instances. */
  boxes: number[];
  /** [N] class indices into the dataset's classes. */
  labels: number[];
  /** [M*4] xyxy crowd regions (ignored in training). */
  ignoreBoxes?: number[];
  /** Per instance: polygons [[x1, y1, ...], ...] or an RLE. */
  masks?: Array<number[][] | Rle>;
  /** [N*K*3] keypoints (x, y, v). */
  keypoints?: number[];
  numKeypoints?: number;
  /** Key of the label-map PNG (semantic segmentation). */
  segMapPath?: string;
  /** COCO annotation ids of the instances (or the person, top-down). */
  annIds?: number[];
  /** Detection score of the person box (top-down from detection results). */
  boxScore?: number;
  /**
   * Top-down: MMPose's sample id, the annotation id (ground truth) or the index among the
   * person detections (detection results); CocoMetric keeps one prediction per id.
   */
  instanceId?: number;
}

/** How label-map PNG values become class indices. */
export interface SegMapOptions {
  /** 0 (background/other) becomes 255 (ignore) and v becomes v - 1 (ADE20K). */
  reduceZeroLabel?: boolean;
  /** Raw value -> class index; values not listed become 255 (Cityscapes labelIds -> trainIds). */
  labelMap?: Record<number, number>;
}

export interface Dataset {
  /** For error messages, e.g. 'coco instances_train.json'. */
  readonly name: string;
  readonly classes: readonly string[];
  readonly length: number;
  info(index: number): DataInfo;
  /** Label-map decoding, for segmentation datasets. */
  readonly segMap?: SegMapOptions;
  /** Keypoint flip pairs and skeleton, for keypoint datasets. */
  readonly keypointInfo?: { names: string[]; skeleton: Array<[number, number]>; flipPairs: Array<[number, number]> };
}

/** A dataset held as an in-memory list of records. */
export abstract class ListDataset implements Dataset {
  abstract readonly name: string;
  abstract readonly classes: readonly string[];
  constructor(protected readonly infos: DataInfo[]) {}

  get length(): number {
    return this.infos.length;
  }

  info(index: number): DataInfo {
    const i = this.infos[index];
    if (!i) throw new RangeError(`${this.name}: index ${index} out of range [0, ${this.infos.length})`);
    return i;
  }
}

/** A dataset-format error that names the file and the record (defined with the COCO rules, which throw it). */
export { AnnotationError };

/** Checks a config's class list against the one in the annotation file; a disagreement is an error, not a remap. */
export function checkClasses(file: string, fromFile: readonly string[], fromConfig: readonly string[] | undefined): void {
  if (!fromConfig) return;
  if (fromConfig.length !== fromFile.length || fromConfig.some((c, i) => c !== fromFile[i])) {
    throw new AnnotationError(file, 'categories', `the config's classes [${fromConfig.join(', ')}] disagree with the file's [${fromFile.join(', ')}]`);
  }
}
