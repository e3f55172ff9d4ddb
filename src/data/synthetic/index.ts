/** The synthetic datasets, by name (the one index `tsvision make-dataset` uses). */
import type { SizeOptions } from './common';
import { generatePeople } from './people';
import { generateShapes, type GenerateOptions } from './shapes';
import { generateShapesSeg } from './shapes-seg';

export const SYNTHETIC_KINDS = ['shapes', 'people', 'shapes-seg'] as const;
export type SyntheticKind = (typeof SYNTHETIC_KINDS)[number];

export { generateShapes, makeShapesScene, SHAPE_CLASSES, SHAPE_CATEGORIES } from './shapes';
export { generatePeople, COCO_FLIP_PAIRS, COCO_KEYPOINTS, COCO_SKELETON } from './people';
export { generateShapesSeg, SHAPES_SEG_CLASSES } from './shapes-seg';

/** Writes dataset `kind`; resolves to the train/val image counts. */
export async function generateSynthetic(kind: SyntheticKind, opts: GenerateOptions & { size?: SizeOptions }): Promise<{ train: number; val: number }> {
  switch (kind) {
    case 'shapes': return generateShapes({ ...opts, shapes: opts.size });
    case 'people': return generatePeople(opts);
    case 'shapes-seg': return generateShapesSeg({ ...opts, shapes: opts.size });
    default: throw new Error(`make-dataset: '${kind}' is not implemented yet`);
  }
}
