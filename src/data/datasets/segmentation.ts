/**
 * Semantic segmentation from an image folder and a label-map PNG folder (MMSegmentation's
 * BaseSegDataset), with the Cityscapes, ADE20K and Pascal VOC 2012 layouts and class lists.
 */
import * as path from 'node:path';
import { createBackend, type BackendSpec } from '../backends';
import { readJsonFile } from './coco';
import { VOC_CLASSES } from './seg-metainfo';
import { AnnotationError, checkClasses, type DataInfo, type Dataset, type SegMapOptions, ListDataset } from './dataset';

export interface SegmentationOptions extends SegMapOptions {
  imgDir: string;
  annDir: string;
  imgSuffix: string;
  segMapSuffix: string;
  /** The dataset's class names (index = class id after mapping). */
  classes: string[];
  backend?: BackendSpec;
  /**
   * A list file of image names (without folder or suffix), one per line, as mmseg's `ann_file`
   * (Pascal VOC's ImageSets/Segmentation/train.txt): only those images, in the file's order.
   * Absent: every image under imgDir.
   */
  splitFile?: string;
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

/** Pascal VOC 2012's 21 classes (MMSegmentation's PascalVOCDataset), background first. */
export { VOC_CLASSES } from './seg-metainfo';

/**
 * Pascal VOC 2012 layout (mmseg's PascalVOCDataset): ROOT/JPEGImages/NAME.jpg with
 * ROOT/SegmentationClass/NAME.png (palette PNGs: the indices are the classes, 255 = border),
 * or SegmentationClassAug (the SBD-augmented maps), for the names listed in
 * ROOT/ImageSets/Segmentation/{train,val,aug,trainval}.txt.
 */
export function vocOptions(root: string, list: string, annDir: 'SegmentationClass' | 'SegmentationClassAug' = 'SegmentationClass'): SegmentationOptions {
  return {
    imgDir: path.join(root, 'JPEGImages'),
    annDir: path.join(root, annDir),
    imgSuffix: '.jpg',
    segMapSuffix: '.png',
    classes: [...VOC_CLASSES],
    splitFile: path.join(root, 'ImageSets', 'Segmentation', `${list}.txt`),
  };
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
      let imgs: string[];
      let anns: Set<string> | undefined;
      if (opts.splitFile) {
        // listed names: check each file (listing a VOC folder of 17k images is not needed)
        const text = await backend.getText(opts.splitFile);
        const names = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
        if (names.length === 0) throw new AnnotationError(opts.splitFile, 'top level', 'the list names no image');
        imgs = names.map((n) => path.join(opts.imgDir, n + opts.imgSuffix));
        const missing = [];
        for (let i = 0; i < imgs.length; i++) if (!(await backend.exists(imgs[i]))) missing.push(i);
        if (missing.length > 0) {
          const i = missing[0];
          throw new AnnotationError(opts.splitFile, `line ${i + 1} ('${names[i]}')`, `image ${imgs[i]} not found${missing.length > 1 ? ` (and ${missing.length - 1} more listed images)` : ''}`);
        }
      } else {
        imgs = (await backend.list(opts.imgDir)).filter((k) => k.endsWith(opts.imgSuffix));
        anns = new Set(await backend.list(opts.annDir));
      }
      const infos: DataInfo[] = [];
      for (const [i, img] of imgs.entries()) {
        const rel = path.relative(opts.imgDir, img);
        const seg = path.join(opts.annDir, rel.slice(0, -opts.imgSuffix.length) + opts.segMapSuffix);
        const found = anns ? anns.has(seg) : await backend.exists(seg);
        if (!found) throw new AnnotationError(opts.splitFile ?? opts.annDir, rel, `no label map ${path.basename(seg)} for image ${img}`);
        // Sizes come from the image header at load time; 0 here means "unknown".
        infos.push({ imgId: i, imgPath: img, width: 0, height: 0, boxes: [], labels: [], segMapPath: seg });
      }
      return new SegmentationDataset(opts.classes, { reduceZeroLabel: opts.reduceZeroLabel, labelMap: opts.labelMap }, infos, opts.imgDir);
    } finally {
      await backend.close();
    }
  }

  /**
   * Several datasets as one (mmseg's ConcatDataset: VOC's train list + the SBD aug list), image
   * ids renumbered; their classes and label decoding must agree.
   */
  static concat(parts: SegmentationDataset[]): SegmentationDataset {
    if (parts.length === 0) throw new Error('SegmentationDataset.concat: no datasets');
    const [first] = parts;
    for (const p of parts.slice(1)) {
      if (p.classes.join('\n') !== first.classes.join('\n')) throw new Error(`SegmentationDataset.concat: ${p.name} has other classes than ${first.name}`);
      if (JSON.stringify(p.segMap) !== JSON.stringify(first.segMap)) throw new Error(`SegmentationDataset.concat: ${p.name} decodes label maps unlike ${first.name} (reduceZeroLabel / labelMap)`);
    }
    const infos = parts.flatMap((p) => p.infos).map((info, i) => ({ ...info, imgId: i }));
    const ds = new SegmentationDataset(first.classes, first.segMap, infos, first.name.replace(/^segmentation /, ''));
    (ds as { name: string }).name = parts.map((p) => p.name).join(' + ');
    return ds;
  }
}
