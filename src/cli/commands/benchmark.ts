/**
 * `tsvision benchmark CONFIG`: inference time as the model zoo defines it (forward +
 * post-processing per image, data loading excluded, after warm-up), or with --train the
 * time of a full training iteration (data included), plus peak memory.
 */
import * as torch from '../../torch';
import { buildOptimizer, trainStep } from '../../engine';
import type { Batch } from '../../data/collate';
import { detectionTask } from '../../tasks/detection/task';
import { toDetBatch } from '../../tasks/detection/data';
import { asDetectionConfig, loadDetector, prepareImage } from '../../apis/detection';
import { asSegmentationConfig, isSegmentationConfig, loadSegmentor, prepareSegImage } from '../../apis/segmentation';
import { segmentationTask, type SegmentationConfig } from '../../tasks/segmentation/task';
import { toSegBatch } from '../../tasks/segmentation/data';
import { poseTask, toPoseBatch, type PoseConfig } from '../../tasks/pose/task';
import { asPoseConfig, disposePoseEstimator, isPoseConfig, loadPoseEstimator, prepareTopdownCrops } from '../../apis/pose';
import { imageSize } from '../../data/image';
import * as fs from 'node:fs';
import type { RunConfig, Task } from '../../config/types';
import type { TrainableModel } from '../../engine/types';
import { expandCfgOptions, loadConfigArg } from '../config_args';
import { numberOption, parseCommandArgs, UsageError, type Command } from '../command';

const HELP = `Usage: tsvision benchmark CONFIG [--checkpoint CKPT] [--image IMG] [--images N] [--warmup N]
                          [--train --iters N] [--json] [--no-strict] [--cfg-options K=V ...]

Inference: the mean time of forward + post-processing over N images (default 50) after
--warmup images (default 5), images from the config's test set (or IMG repeated), data
loading excluded. With --train: the mean time of full training iterations (data loading
included) over --iters iterations (default 20) after --warmup (default 5).
Peak memory: CUDA max allocated on GPU, peak resident set size on CPU.
Semantic-segmentation configs are timed at the config's test size (the test pipeline's Resize,
e.g. 2048x1024 for Cityscapes); without --image and without the dataset on disk, a blank image
of the test Resize's scale is used (said on stderr).
Top-down pose configs are timed per person crop at the config's input size (e.g. 192x256),
flip test and decoding to image keypoints included: fps is crops per second. The crops are the
test set's person boxes, one per batch, or with --image the whole image as one box (as
tsvision infer without --bboxes). --train times the config's batch of crops.

Options:
  --checkpoint CKPT  weights (default: the config's random initialization); every key must fit
  --no-strict        load only CKPT's tensors that fit the model and list the rest on stderr;
                     a checkpoint that fits nothing is still an error
  --image IMG        use this image, repeated, instead of the test set
  --json             print one JSON object: {"fps", "ms_per_image", "peak_memory_mb"}
                     or with --train {"s_per_iter", "peak_memory_mb"}`;

function peakMemoryMb(): number {
  if (torch.cuda.isAvailable()) return torch.cuda.maxMemoryAllocated() / 2 ** 20;
  return process.resourceUsage().maxRSS / 1024;
}

async function collectBatches(source: AsyncIterable<Batch> | Iterable<Batch>, n: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of source) {
    out.push(b);
    if (out.length >= n) break;
  }
  return out;
}

export const benchmarkCommand: Command = {
  name: 'benchmark',
  summary: 'inference fps / training s/iter and peak memory of a config',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('benchmark', expandCfgOptions(argv), {
      checkpoint: { type: 'string' }, image: { type: 'string' }, images: { type: 'string' }, warmup: { type: 'string' },
      train: { type: 'boolean' }, iters: { type: 'string' }, json: { type: 'boolean' }, 'cfg-options': { type: 'string', multiple: true },
      'no-strict': { type: 'boolean' },
    });
    if (positionals.length !== 1) throw new UsageError('benchmark: expected one CONFIG argument');
    const warmup = numberOption('benchmark', 'warmup', values.warmup as string | undefined, 5, { integer: true, min: 0 });
    const loaded = loadConfigArg('benchmark', positionals[0], (values['cfg-options'] as string[] | undefined) ?? []);
    const seg = isSegmentationConfig(loaded);
    const pose = isPoseConfig(loaded);
    const cfg: RunConfig = seg ? asSegmentationConfig(loaded, 'benchmark') : pose ? asPoseConfig(loaded, 'benchmark') : asDetectionConfig(loaded, 'benchmark');
    const task = (seg ? segmentationTask : pose ? poseTask : detectionTask) as unknown as Task<RunConfig, Batch, unknown>;
    const say = (s: string) => { if (!values.json) console.error(s); };

    if (values.train) {
      const iters = numberOption('benchmark', 'iters', values.iters as string | undefined, 20, { integer: true, min: 1 });
      const model: TrainableModel<Batch, unknown> = task.buildModel(cfg);
      if (values.checkpoint) throw new UsageError('benchmark: --checkpoint applies to inference; training starts from the config');
      const optimizer = buildOptimizer(cfg.optimWrapper, model);
      const data = task.buildTrainData(cfg);
      model.train();
      const times: number[] = [];
      let tick = performance.now();
      say(`benchmark: ${warmup} warm-up + ${iters} training iterations of ${positionals[0]}`);
      try {
        for (let epoch = 0; times.length < warmup + iters; epoch++) {
          for await (const batch of data.epoch(epoch)) {
            trainStep(model, optimizer, batch, cfg.optimWrapper.clipGrad);
            if (torch.cuda.isAvailable()) torch.cuda.synchronize();
            const now = performance.now();
            times.push((now - tick) / 1000);
            tick = now;
            if (times.length >= warmup + iters) break;
          }
        }
      } finally {
        await data.close?.();
      }
      const measured = times.slice(warmup);
      const sPerIter = measured.reduce((a, b) => a + b, 0) / measured.length;
      const out = { s_per_iter: Number(sPerIter.toFixed(4)), peak_memory_mb: Math.round(peakMemoryMb()) };
      if (values.json) process.stdout.write(`${JSON.stringify(out)}\n`);
      else console.log(`train: ${out.s_per_iter} s/iter (mean of ${iters}), peak memory ${out.peak_memory_mb} MB`);
      return 0;
    }

    const n = numberOption('benchmark', 'images', values.images as string | undefined, 50, { integer: true, min: 1 });
    if (pose) {
      const out = await benchmarkPose(cfg as PoseConfig, { checkpoint: values.checkpoint as string | undefined, image: values.image as string | undefined, n, warmup, strict: values['no-strict'] !== true, say, name: positionals[0] });
      if (values.json) process.stdout.write(`${JSON.stringify(out)}\n`);
      else console.log(`inference: ${out.fps} crops/s (${out.ms_per_image} ms/crop, mean of ${n}), peak memory ${out.peak_memory_mb} MB`);
      return 0;
    }
    if (seg) {
      const out = await benchmarkSegmentation(cfg as SegmentationConfig, { checkpoint: values.checkpoint as string | undefined, image: values.image as string | undefined, n, warmup, strict: values['no-strict'] !== true, say, name: positionals[0] });
      if (values.json) process.stdout.write(`${JSON.stringify(out)}\n`);
      else console.log(`inference: ${out.fps} img/s (${out.ms_per_image} ms/image, mean of ${n}), peak memory ${out.peak_memory_mb} MB`);
      return 0;
    }
    const detCfg = cfg as ReturnType<typeof asDetectionConfig>;
    const detector = loadDetector(detCfg, values.checkpoint as string | undefined, { strict: values['no-strict'] !== true });
    let batches: Batch[];
    if (values.image) {
      const one = await prepareImage(detCfg, values.image as string);
      batches = Array.from({ length: warmup + n }, () => one);
    } else {
      // one image per batch, decoded up front: loading is not part of the timing
      const data = detectionTask.buildValData({ ...detCfg, data: { ...detCfg.data, valBatchSize: 1 } });
      try {
        batches = await collectBatches(data.epoch(0), warmup + n);
      } finally {
        await data.close?.();
      }
      if (batches.length < warmup + n) throw new Error(`benchmark: the test set has ${batches.length} images, ${warmup + n} needed (use --images/--warmup)`);
    }
    say(`benchmark: ${warmup} warm-up + ${n} images of ${positionals[0]} (${torch.getNumThreads()} threads)`);
    let out: InferenceTiming;
    try {
      out = timeInference(batches, warmup, (batch) => {
        const input = toDetBatch(batch);
        return () => detector.model.predict(input);
      });
    } finally {
      detector.model.dispose();
    }
    if (values.json) process.stdout.write(`${JSON.stringify(out)}\n`);
    else console.log(`inference: ${out.fps} img/s (${out.ms_per_image} ms/image, mean of ${n}), peak memory ${out.peak_memory_mb} MB`);
    return 0;
  },
};

/**
 * Segmentation inference time: forward + resizing to the original size + argmax per image, at
 * the config's test size, data loading excluded.
 */
async function benchmarkSegmentation(cfg: SegmentationConfig, o: { checkpoint?: string; image?: string; n: number; warmup: number; strict: boolean; say: (s: string) => void; name: string }): Promise<{ fps: number; ms_per_image: number; peak_memory_mb: number }> {
  const total = o.warmup + o.n;
  let batches: Batch[];
  if (o.image) {
    const one = await prepareSegImage(cfg, o.image);
    batches = Array.from({ length: total }, () => one);
  } else {
    let fromData: Batch[] | undefined;
    try {
      const data = segmentationTask.buildValData({ ...cfg, data: { ...cfg.data, valBatchSize: 1 } });
      try {
        fromData = await collectBatches(data.epoch(0), total);
      } finally {
        await data.close?.();
      }
    } catch (e) {
      o.say(`benchmark: no validation data (${(e as Error).message.split('\n')[0]}); timing a blank image of the test size`);
    }
    if (fromData && fromData.length < total) throw new Error(`benchmark: the test set has ${fromData.length} images, ${total} needed (use --images/--warmup)`);
    batches = fromData ?? Array.from({ length: total }, () => blankTestBatch(cfg));
  }
  const s = loadSegmentor(cfg, o.checkpoint, { strict: o.strict });
  const [h, w] = batches[0].shape.slice(2);
  o.say(`benchmark: ${o.warmup} warm-up + ${o.n} images of ${o.name} at ${w}x${h} (${torch.getNumThreads()} threads)`);
  try {
    return timeInference(batches, o.warmup, (batch) => {
      const input = toSegBatch(batch);
      return () => s.model.predict(input);
    });
  } finally {
    s.model.dispose();
  }
}

interface InferenceTiming { fps: number; ms_per_image: number; peak_memory_mb: number }

/**
 * Times `prepare(batch)()` per batch without gradients, each in a tidy scope: `prepare` converts
 * the batch to the model's input (not timed) and returns the timed forward + post-processing.
 * The first `warmup` batches are not counted.
 */
function timeInference(batches: readonly Batch[], warmup: number, prepare: (batch: Batch) => () => unknown): InferenceTiming {
  const times: number[] = [];
  torch.noGrad(() => batches.forEach((batch, i) => torch.tidy(() => {
    const run = prepare(batch);
    const t0 = performance.now();
    run(); // its tensors are disposed with the scope
    if (torch.cuda.isAvailable()) torch.cuda.synchronize();
    if (i >= warmup) times.push((performance.now() - t0) / 1000);
  })));
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  return { fps: Number((1 / mean).toFixed(2)), ms_per_image: Number((mean * 1000).toFixed(2)), peak_memory_mb: Math.round(peakMemoryMb()) };
}

/**
 * Top-down pose inference time per person crop at the config's input size: forward (with the
 * config's flip test) + heatmap decoding to image keypoints, data loading excluded.
 */
async function benchmarkPose(cfg: PoseConfig, o: { checkpoint?: string; image?: string; n: number; warmup: number; strict: boolean; say: (s: string) => void; name: string }): Promise<InferenceTiming> {
  const total = o.warmup + o.n;
  let batches: Batch[];
  if (o.image) {
    if (!fs.existsSync(o.image)) throw new Error(`image not found: ${o.image}`);
    const { width, height } = await imageSize(fs.readFileSync(o.image), o.image);
    const one = await prepareTopdownCrops(cfg, o.image, [[0, 0, width, height]], [1]);
    batches = Array.from({ length: total }, () => one);
  } else {
    const data = poseTask.buildValData({ ...cfg, data: { ...cfg.data, valBatchSize: 1 } });
    try {
      batches = await collectBatches(data.epoch(0), total);
    } finally {
      await data.close?.();
    }
    if (batches.length < total) throw new Error(`benchmark: the test set has ${batches.length} person crops, ${total} needed (use --images/--warmup)`);
  }
  const p = loadPoseEstimator(cfg, o.checkpoint, { strict: o.strict });
  const [h, w] = batches[0].shape.slice(2);
  o.say(`benchmark: ${o.warmup} warm-up + ${o.n} person crops of ${o.name} at ${w}x${h} (${torch.getNumThreads()} threads)`);
  try {
    return timeInference(batches, o.warmup, (batch) => {
      const input = toPoseBatch(batch, { flipIndices: p.model.flipIndices });
      return () => p.model.estimator.predict(input);
    });
  } finally {
    disposePoseEstimator(p);
  }
}

/** A zero (mean-coloured after normalization) image of the test Resize's scale, as a collated batch. */
function blankTestBatch(cfg: SegmentationConfig): Batch {
  const resize = cfg.data.testPipeline.find((t) => t.type === 'Resize');
  if (!resize || resize.type !== 'Resize' || resize.scales.length !== 1) {
    throw new Error('benchmark: the test pipeline has no single-scale Resize to size a blank image; pass --image IMG');
  }
  const [w, h] = resize.scales[0];
  const meta = { imgId: 0, imgPath: '<blank>', oriShape: [h, w] as [number, number], imgShape: [h, w] as [number, number], padShape: [h, w] as [number, number], scaleFactor: [1, 1] as [number, number], flip: false, flipDirection: null };
  return { inputs: new Float32Array(3 * h * w), shape: [1, 3, h, w], items: [{ meta, targets: {} }] };
}
