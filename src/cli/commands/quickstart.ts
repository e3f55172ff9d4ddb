/**
 * `tsvision quickstart` (the README's main job, `npm start`): generate the synthetic
 * shapes dataset, train the small Faster R-CNN of faster_rcnn/faster-rcnn_r18_fpn_shapes
 * with the runner, evaluate COCO box AP on the val split while timing inference, draw a
 * demo and write a one-row zoo table to work_dirs/quickstart/.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as torch from '../../torch';
import { resolveConfig, writeFileAtomic } from '../../config';
import { buildRunner, type Hook, type TrainableModel } from '../../engine';
import type { DetInstances } from '../../models/detectors/types';
import type { Batch } from '../../data/collate';
import { CocoDetectionEvaluator, detectionTask, type DetectionConfig } from '../../tasks/detection/task';
import { drawDetections } from '../../visualization/detection';
import type { CocoResult } from '../../evaluation';
import { numberOption, parseCommandArgs, type Command } from '../command';

const CONFIG = 'faster_rcnn/faster-rcnn_r18_fpn_shapes';

const HELP = `Usage: tsvision quickstart [--work-dir DIR] [--iters N] [--images N] [--seed S]

Generates the synthetic shapes dataset, trains a small Faster R-CNN (${CONFIG}:
ResNet-18-FPN from scratch, ~320 px) on it, evaluates COCO box AP on the val split,
benchmarks inference, and writes a demo PNG, the results and a zoo row (summary.json:
mem_gb, train_s_per_iter, inf_fps, box_ap) into the work dir.

Options:
  --work-dir DIR   output folder (default work_dirs/quickstart)
  --iters N        training iterations (default: the config's, 800)
  --images N       images to generate, train + val (default: the config's, 600)
  --seed S         seed of the dataset and of training (default 0)`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The shapes config resized to `iters` iterations (schedule milestones scale along). */
function quickstartConfig(base: DetectionConfig, o: { iters: number; images: number; seed: number; workDir: string }): DetectionConfig {
  if (base.train.byEpoch) throw new Error(`${CONFIG}: the quickstart expects an iteration-based config`);
  const k = o.iters / base.train.maxIters;
  const dataDir = path.join('work_dirs', 'data', `shapes-${o.images}-s${o.seed}`);
  const gen = base.data.generate;
  if (!gen) throw new Error(`${CONFIG}: data.generate is not set`);
  return {
    ...base,
    seed: o.seed,
    workDir: o.workDir,
    train: { ...base.train, maxIters: o.iters },
    paramScheduler: base.paramScheduler.map((s) => {
      const scaled = { ...s, begin: Math.round((s.begin ?? 0) * k), end: Math.round((s.end ?? o.iters) * k) } as typeof s;
      if ('milestones' in scaled) (scaled as { milestones: number[] }).milestones = (s as { milestones: number[] }).milestones.map((m) => Math.round(m * k));
      return scaled;
    }),
    data: {
      ...base.data,
      train: { annFile: path.join(dataDir, 'annotations', 'instances_train.json'), imgDir: path.join(dataDir, 'train') },
      val: { annFile: path.join(dataDir, 'annotations', 'instances_val.json'), imgDir: path.join(dataDir, 'val') },
      generate: { ...gen, dir: dataDir, images: o.images, seed: o.seed },
    },
  };
}

export const quickstartCommand: Command = {
  name: 'quickstart',
  summary: 'generate shapes, train a small Faster R-CNN, evaluate, benchmark, demo (npm start)',
  help: HELP,
  async run(argv) {
    const { values } = parseCommandArgs('quickstart', argv, {
      'work-dir': { type: 'string' }, iters: { type: 'string' }, images: { type: 'string' }, seed: { type: 'string' },
    }, false);
    const loaded = resolveConfig(CONFIG);
    const base = loaded.config as DetectionConfig;
    const workDir = path.resolve((values['work-dir'] as string | undefined) ?? 'work_dirs/quickstart');
    const iters = numberOption('quickstart', 'iters', values.iters as string | undefined, base.train.byEpoch ? 0 : base.train.maxIters, { integer: true, min: 1 });
    const images = numberOption('quickstart', 'images', values.images as string | undefined, base.data.generate?.images ?? 600, { integer: true, min: 10 });
    const seed = numberOption('quickstart', 'seed', values.seed as string | undefined, 0, { integer: true, min: 0 });
    const started = Date.now();
    const cfg = quickstartConfig(base, { iters, images, seed, workDir });
    fs.mkdirSync(workDir, { recursive: true });

    // Train with the runner (progress bar on a TTY, log lines otherwise); note each iteration's time.
    const iterTimes: number[] = [];
    const timer: Hook = { name: 'QuickstartTimer', afterTrainIter: (_r, info) => { iterTimes.push(info.time); } };
    const runner = buildRunner({ ...loaded, config: cfg }, { mode: 'train', hooks: [timer] });
    await runner.train();

    // Evaluate on the val split, timing forward + post-processing per image (data loading excluded).
    console.error('quickstart: evaluating on the val split');
    const model = runner.model as TrainableModel<Batch, DetInstances[]>;
    model.eval();
    const valData = detectionTask.buildValData({ ...cfg, data: { ...cfg.data, valBatchSize: 1 } });
    const evaluator = detectionTask.buildEvaluator(cfg) as CocoDetectionEvaluator;
    evaluator.reset();
    const inferTimes: number[] = [];
    try {
      for await (const batch of valData.epoch(0) as AsyncIterable<Batch>) {
        const t0 = performance.now();
        const preds = model.predict(batch);
        inferTimes.push((performance.now() - t0) / 1000);
        evaluator.process(batch, preds);
        torch.dispose(preds);
      }
    } finally {
      await valData.close?.();
    }
    const metrics = evaluator.evaluate();
    const results = evaluator.results() as CocoResult[];
    writeFileAtomic(path.join(workDir, 'val_results.bbox.json'), JSON.stringify(results));

    const valAnn = JSON.parse(fs.readFileSync(cfg.data.val.annFile, 'utf8')) as { images: { id: number; file_name: string }[]; categories: { id: number; name: string }[] };
    const first = valAnn.images[0];
    await drawDetections(path.join(cfg.data.val.imgDir, first.file_name), results.filter((r) => r.image_id === first.id),
      new Map(valAnn.categories.map((c) => [c.id, c.name])), path.join(workDir, 'demo.png'));

    const summary = {
      mem_gb: Number((process.resourceUsage().maxRSS / 1024 / 1024).toFixed(3)),
      train_s_per_iter: Number(median(iterTimes.slice(Math.min(10, iterTimes.length - 1))).toFixed(4)),
      inf_fps: Number((1 / median(inferTimes.slice(Math.min(5, inferTimes.length - 1)))).toFixed(2)),
      box_ap: Number(metrics.bbox_mAP.toFixed(4)),
    };
    writeFileAtomic(path.join(workDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    const row = [CONFIG, 'R-18-FPN', summary.mem_gb.toFixed(2), summary.train_s_per_iter.toFixed(3), summary.inf_fps.toFixed(1), (summary.box_ap * 100).toFixed(1)];
    const head = ['Config', 'Backbone', 'Mem (GB)', 'Train time (s/iter)', 'Inf time (fps)', 'box AP'];
    const widths = head.map((h, i) => Math.max(h.length, row[i].length));
    const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
    console.log(['', fmt(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, fmt(row), ''].join('\n'));
    const mins = (Date.now() - started) / 60000;
    console.log(`quickstart: done in ${mins.toFixed(1)} min; wrote ${path.relative(process.cwd(), workDir) || '.'}/{summary.json,demo.png,val_results.bbox.json} and the run's checkpoint and logs`);
    return 0;
  },
};
