/** `tsvision browse-dataset`: renders samples after the training pipeline to PNG files. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createBackend } from '../../data/backends';
import { CocoDetection } from '../../data/datasets/coco';
import { CocoKeypoints } from '../../data/datasets/coco-keypoints';
import type { Dataset } from '../../data/datasets/dataset';
import { SegmentationDataset, shapesSegOptions } from '../../data/datasets/segmentation';
import { loadSample } from '../../data/load';
import { Rng, sampleSeed } from '../../data/rng';
import { buildPipeline, flipIndicesFromPairs, type TransformSpec } from '../../data/transforms';
import { drawSample } from '../../data/visualize';
import { numberOption, parseCommandArgs, UsageError, type Command } from '../command';

const KINDS = ['coco', 'people-topdown', 'people-bottomup', 'shapes-seg'] as const;
type Kind = (typeof KINDS)[number];

const help = `Usage: tsvision browse-dataset KIND --root DIR --out DIR [options]

Renders samples after the training pipeline (boxes, masks, crowd regions dashed, keypoints
with skeleton, heatmaps, label maps) to PNG files, to check by eye that targets sit on their objects.

KIND:
  coco             COCO detection / instance segmentation (e.g. make-dataset shapes):
                   Resize keep-ratio, RandomFlip, Pad 32
  people-topdown   COCO keypoints, one crop per person: MMPose's top-down training pipeline 192x256, heatmaps
  people-bottomup  COCO keypoints, whole images: Resize, RandomFlip
  shapes-seg       label-map segmentation (make-dataset shapes-seg): Resize, RandomFlip, RandomCrop, Pad

Options:
  --root DIR       dataset folder (COCO: DIR/annotations/*_{split}.json and DIR/{split}/)
  --split S        train or val (default train)
  --out DIR        where the PNGs go (created)
  -n, --count N    samples to render (default 8)
  --scale W,H      Resize scale (default 640,480)
  --seed S         pipeline seed (default 0)`;

async function openDataset(kind: Kind, root: string, split: string): Promise<Dataset> {
  const imgDir = path.join(root, split);
  switch (kind) {
    case 'coco':
      return CocoDetection.load({ annFile: path.join(root, 'annotations', `instances_${split}.json`), imgDir });
    case 'people-topdown':
    case 'people-bottomup':
      return CocoKeypoints.load({ annFile: path.join(root, 'annotations', `person_keypoints_${split}.json`), imgDir, mode: kind === 'people-topdown' ? 'topdown' : 'bottomup' });
    case 'shapes-seg':
      if (split !== 'train' && split !== 'val') throw new UsageError(`browse-dataset: --split must be train or val, got '${split}'`);
      return SegmentationDataset.load(await shapesSegOptions(root, split));
  }
}

function pipelineFor(kind: Kind, ds: Dataset, scale: [number, number]): TransformSpec[] {
  const flipPairs = ds.keypointInfo?.flipPairs;
  switch (kind) {
    case 'coco': return [{ type: 'Resize', scales: [scale] }, { type: 'RandomFlip', prob: 0.5 }, { type: 'Pad', sizeDivisor: 32 }];
    case 'people-topdown': return [
      { type: 'GetBBoxCenterScale', padding: 1.25 },
      { type: 'TopdownRandomFlip', prob: 0.5, flipIndices: flipIndicesFromPairs(flipPairs ?? [], ds.keypointInfo?.names.length ?? 17) },
      { type: 'RandomHalfBody' },
      { type: 'RandomBBoxTransform' },
      { type: 'TopdownAffine', inputSize: [192, 256] },
      { type: 'GenerateHeatmap', heatmapSize: [48, 64], sigma: 2 },
    ];
    case 'people-bottomup': return [{ type: 'Resize', scales: [scale] }, { type: 'RandomFlip', prob: 0.5, flipPairs }];
    case 'shapes-seg': return [{ type: 'Resize', scales: [scale] }, { type: 'RandomFlip', prob: 0.5 }, { type: 'RandomCrop', cropSize: [Math.round(scale[0] * 0.75), Math.round(scale[1] * 0.75)], allowNegativeCrop: true }, { type: 'Pad', sizeDivisor: 32 }];
  }
}

export const browseDatasetCommand: Command = {
  name: 'browse-dataset',
  summary: 'render dataset samples after the pipeline (boxes, masks, keypoints, label maps) to PNG',
  help,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('browse-dataset', argv, {
      root: { type: 'string' },
      split: { type: 'string' },
      out: { type: 'string' },
      count: { type: 'string', short: 'n' },
      scale: { type: 'string' },
      seed: { type: 'string' },
    });
    const kind = positionals[0] as Kind;
    if (positionals.length !== 1 || !KINDS.includes(kind)) throw new UsageError(`browse-dataset: expected one of ${KINDS.join('|')}, got '${positionals.join(' ')}'`);
    if (typeof values.root !== 'string' || typeof values.out !== 'string') throw new UsageError('browse-dataset: --root DIR and --out DIR are required');
    const count = numberOption('browse-dataset', 'count', values.count as string | undefined, 8, { integer: true, min: 1 });
    const seed = numberOption('browse-dataset', 'seed', values.seed as string | undefined, 0, { integer: true, min: 0 });
    const scale = ((values.scale as string | undefined) ?? '640,480').split(',').map(Number) as [number, number];
    if (scale.length !== 2 || scale.some((v) => !(v > 0))) throw new UsageError(`browse-dataset: --scale expects W,H, got '${values.scale}'`);
    const ds = await openDataset(kind, values.root, (values.split as string | undefined) ?? 'train');
    const pipeline = buildPipeline(pipelineFor(kind, ds, scale));
    const backend = createBackend();
    await fs.mkdir(values.out, { recursive: true });
    const kp = ds.keypointInfo;
    const left = new Set(kp?.names.flatMap((n, i) => (n.startsWith('left_') ? [i] : [])) ?? []);
    const classes = kind === 'shapes-seg' ? ds.classes.slice(1) : ds.classes;
    const picks = new Rng(seed).shuffle(Array.from({ length: ds.length }, (_, i) => i)).slice(0, count);
    for (const index of picks) {
      const info = ds.info(index);
      const sample = await pipeline.apply(await loadSample(info, backend, { segMap: ds.segMap }), new Rng(sampleSeed(seed, 0, index)));
      const png = await drawSample(sample, { classes, skeleton: kp?.skeleton, leftKeypoints: left, zoom: kind === 'people-topdown' ? 2 : 1 });
      const file = path.join(values.out, `${String(index).padStart(6, '0')}_${path.basename(info.imgPath, path.extname(info.imgPath))}.png`);
      await fs.writeFile(file, png);
      console.log(file);
    }
    await backend.close();
    return 0;
  },
};
