/**
 * Semantic segmentation from an image folder and a label-map PNG folder (MMSegmentation's
 * BaseSegDataset), with the Cityscapes and ADE20K layouts and class lists.
 */
import * as path from 'node:path';
import { createBackend, type BackendSpec } from '../backends';
import { readJsonFile } from './coco';
import { AnnotationError, checkClasses, type DataInfo, type Dataset, type SegMapOptions, ListDataset } from './dataset';

export interface SegmentationOptions extends SegMapOptions {
  imgDir: string;
  annDir: string;
  imgSuffix: string;
  segMapSuffix: string;
  /** The dataset's class names (index = class id after mapping). */
  classes: string[];
  backend?: BackendSpec;
}

/** Cityscapes' 19 evaluation classes (train ids 0..18). */
export const CITYSCAPES_CLASSES = ['road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light', 'traffic sign', 'vegetation', 'terrain', 'sky', 'person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle'];
/** Cityscapes label ids -> train ids (the rest is ignored), for *_gtFine_labelIds.png. */
export const CITYSCAPES_LABEL_MAP: Record<number, number> = { 7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18 };

/** Cityscapes layout: leftImg8bit/{split}/{city}/*_leftImg8bit.png with gtFine/{split}/{city}/*_gtFine_labelTrainIds.png. */
export function cityscapesOptions(root: string, split: 'train' | 'val' | 'test', labels: 'trainIds' | 'labelIds' = 'trainIds'): SegmentationOptions {
  return {
    imgDir: path.join(root, 'leftImg8bit', split),
    annDir: path.join(root, 'gtFine', split),
    imgSuffix: '_leftImg8bit.png',
    segMapSuffix: labels === 'trainIds' ? '_gtFine_labelTrainIds.png' : '_gtFine_labelIds.png',
    classes: CITYSCAPES_CLASSES,
    labelMap: labels === 'labelIds' ? CITYSCAPES_LABEL_MAP : undefined,
  };
}

/** ADE20K (SceneParsing) layout: images/{training,validation}/*.jpg, annotations/.../*.png, 0 = other (ignored). */
export function ade20kOptions(root: string, split: 'training' | 'validation', classes: string[]): SegmentationOptions {
  if (classes.length !== 150) throw new Error(`ADE20K: expected 150 class names, got ${classes.length}`);
  return { imgDir: path.join(root, 'images', split), annDir: path.join(root, 'annotations', split), imgSuffix: '.jpg', segMapSuffix: '.png', classes, reduceZeroLabel: true };
}

/** The shapes-seg layout: img_dir/{split}, ann_dir/{split}, class names from DIR/classes.json. */
export async function shapesSegOptions(root: string, split: 'train' | 'val'): Promise<SegmentationOptions> {
  const file = path.join(root, 'classes.json');
  const classes = await readJsonFile(file);
  if (!Array.isArray(classes) || classes.some((c) => typeof c !== 'string')) throw new AnnotationError(file, 'top level', 'expected an array of class names');
  return { imgDir: path.join(root, 'img_dir', split), annDir: path.join(root, 'ann_dir', split), imgSuffix: '.jpg', segMapSuffix: '.png', classes: classes as string[] };
}

export class SegmentationDataset extends ListDataset {
  readonly name: string;
  private constructor(readonly classes: string[], readonly segMap: SegMapOptions, infos: DataInfo[], imgDir: string) {
    super(infos);
    this.name = `segmentation ${imgDir}`;
  }

  /**
   * Pairs every image with its label map by name; a missing label map is an error naming the
   * image. `expectedClasses` (from a config) must equal the dataset's classes.
   */
  static async load(opts: SegmentationOptions, expectedClasses?: string[]): Promise<SegmentationDataset> {
    checkClasses(opts.annDir, opts.classes, expectedClasses);
    const backend = createBackend(opts.backend);
    try {
      const imgs = (await backend.list(opts.imgDir)).filter((k) => k.endsWith(opts.imgSuffix));
      const anns = new Set(await backend.list(opts.annDir));
      const infos: DataInfo[] = imgs.map((img, i) => {
        const rel = path.relative(opts.imgDir, img);
        const seg = path.join(opts.annDir, rel.slice(0, -opts.imgSuffix.length) + opts.segMapSuffix);
        if (!anns.has(seg)) throw new AnnotationError(opts.annDir, rel, `no label map ${path.basename(seg)} for image ${img}`);
        // Sizes come from the image header at load time; 0 here means "unknown".
        return { imgId: i, imgPath: img, width: 0, height: 0, boxes: [], labels: [], segMapPath: seg };
      });
      return new SegmentationDataset(opts.classes, { reduceZeroLabel: opts.reduceZeroLabel, labelMap: opts.labelMap }, infos, opts.imgDir);
    } finally {
      await backend.close();
    }
  }
}
