/** `tsvision make-dataset shapes|people|shapes-seg --out DIR --images N --seed S`: writes a synthetic dataset. */
import { generateSynthetic, SYNTHETIC_KINDS, type SyntheticKind } from '../../data/synthetic';
import { numberOption, parseCommandArgs, UsageError, type Command } from '../command';

const help = `Usage: tsvision make-dataset shapes|people|shapes-seg --out DIR [options]

Writes a synthetic dataset in its real on-disk format, deterministically from a seed:
  shapes      COCO instance segmentation: circles, rectangles, triangles, stars
              (DIR/annotations/instances_{train,val}.json, DIR/{train,val}/*.jpg)
  people      COCO keypoints: stick figures with the 17 COCO keypoints
              (DIR/annotations/person_keypoints_{train,val}.json, DIR/{train,val}/*.jpg)
  shapes-seg  semantic segmentation: DIR/img_dir/{train,val}/*.jpg, DIR/ann_dir/{train,val}/*.png
              (label values 0 = background, 1..4 = shapes, 255 = ignore), DIR/classes.json

Options:
  --out DIR          output folder (created)
  --images N         total images, train + val (default 100)
  --val-fraction F   share of images in val (default 0.2)
  --seed S           random seed (default 0)
  --min-size PX      smallest long image side (default 320)
  --max-size PX      largest long image side (default 640)
  --quiet            no progress output`;

export const makeDatasetCommand: Command = {
  name: 'make-dataset',
  summary: 'write a synthetic dataset (shapes, people, shapes-seg) in COCO / label-map format',
  help,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('make-dataset', argv, {
      out: { type: 'string' },
      images: { type: 'string' },
      'val-fraction': { type: 'string' },
      seed: { type: 'string' },
      'min-size': { type: 'string' },
      'max-size': { type: 'string' },
      quiet: { type: 'boolean' },
    });
    const kind = positionals[0] as SyntheticKind;
    if (positionals.length !== 1 || !SYNTHETIC_KINDS.includes(kind)) throw new UsageError(`make-dataset: expected one of ${SYNTHETIC_KINDS.join('|')}, got '${positionals.join(' ')}'`);
    if (typeof values.out !== 'string') throw new UsageError('make-dataset: --out DIR is required');
    const images = numberOption('make-dataset', 'images', values.images as string | undefined, 100, { integer: true, min: 2 });
    const valFraction = numberOption('make-dataset', 'val-fraction', values['val-fraction'] as string | undefined, 0.2, { min: 0 });
    const seed = numberOption('make-dataset', 'seed', values.seed as string | undefined, 0, { integer: true, min: 0 });
    const minSize = numberOption('make-dataset', 'min-size', values['min-size'] as string | undefined, 320, { integer: true, min: 32 });
    const maxSize = numberOption('make-dataset', 'max-size', values['max-size'] as string | undefined, Math.max(640, minSize), { integer: true, min: minSize });
    const quiet = values.quiet === true || !process.stderr.isTTY;
    const t0 = Date.now();
    const counts = await generateSynthetic(kind, {
      out: values.out,
      images,
      seed,
      valFraction,
      size: { minSize, maxSize },
      onProgress: quiet ? undefined : (done, total) => process.stderr.write(`\rmake-dataset: ${done}/${total} images`),
    });
    if (!quiet) process.stderr.write('\n');
    console.log(`make-dataset: wrote ${kind} to ${values.out}: ${counts.train} train + ${counts.val} val images in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return 0;
  },
};
