/**
 * A tiny COCO detection dataset whose images all carry the same boxes (same size, same
 * classes, same places) over different pixels (random background and box colours), for tests
 * where every image must contribute the same number of positive anchors (distributed
 * equivalence: per-batch loss normalisers then split evenly between ranks).
 */
import * as path from 'node:path';
import { generateCocoSplits } from '../../src/data/synthetic/shapes';
import { backgroundSvg, hsl, renderSvg, rgb } from '../../src/data/synthetic/common';

/** Image size (px) and the boxes of every image: [x, y, w, h] and category id. */
export const SAME_BOXES_SIZE = 64;
export const SAME_BOXES: { bbox: [number, number, number, number]; categoryId: number }[] = [
  { bbox: [6, 8, 24, 20], categoryId: 1 },
  { bbox: [34, 30, 22, 28], categoryId: 2 },
];

/** Writes `<dir>/{train,val}/*.jpg` and `<dir>/annotations/instances_{train,val}.json`. */
export async function writeSameBoxesCoco(dir: string, images: number, seed = 0): Promise<{ train: string; val: string }> {
  const s = SAME_BOXES_SIZE;
  const categories = [{ id: 1, name: 'a', supercategory: 'shape' }, { id: 2, name: 'b', supercategory: 'shape' }];
  await generateCocoSplits({ out: dir, images, seed, concurrency: 1 }, (split) => `instances_${split}.json`, categories, async (rng, file) => {
    const boxes = SAME_BOXES.map(({ bbox: [x, y, w, h] }) => `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="${rgb(hsl(rng.uniform(0, 360), 0.8, rng.uniform(0.3, 0.7)))}"/>`);
    await renderSvg(backgroundSvg(rng, s, s) + boxes.join(''), s, s, file);
    return {
      width: s,
      height: s,
      annotations: (imageId, nextId) => SAME_BOXES.map(({ bbox, categoryId }) => ({
        id: nextId(), image_id: imageId, category_id: categoryId, bbox: [...bbox], area: bbox[2] * bbox[3], iscrowd: 0 as const,
        segmentation: [[bbox[0], bbox[1], bbox[0] + bbox[2], bbox[1], bbox[0] + bbox[2], bbox[1] + bbox[3], bbox[0], bbox[1] + bbox[3]]],
      })),
    };
  });
  return { train: path.join(dir, 'annotations', 'instances_train.json'), val: path.join(dir, 'annotations', 'instances_val.json') };
}
