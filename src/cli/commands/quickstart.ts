/**
 * `tsvision quickstart` (the README's main job, `npm start`): generate the synthetic
 * shapes dataset, train a small Faster R-CNN, evaluate COCO box AP, benchmark
 * inference, draw a demo and write a one-row zoo table to work_dirs/quickstart/.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as torch from '../../torch';
import { SGD, clipGradNorm_ } from '../../optim';
import { DataLoader } from '../../data/loader';
import { CocoDetection } from '../../data/datasets/coco';
import { generateShapes } from '../../data/synthetic';
import { CocoDataset, evaluateCoco, type CocoResult } from '../../evaluation';
import { buildTwoStageDetector } from '../../models/detectors/build';
import { toCocoResults, toDetBatch } from '../../models/detectors/data';
import { drawDetections } from '../../models/detectors/visualize';
import type { TwoStageDetector } from '../../models/detectors/two_stage';
import { data as dataCfg, model as modelCfg, schedule } from '../../../configs/quickstart/faster-rcnn_r18_fpn_shapes';
import { numberOption, parseCommandArgs, type Command } from '../command';

const HELP = `Usage: tsvision quickstart [--work-dir DIR] [--iters N] [--images N] [--seed S]

Generates the synthetic shapes dataset, trains a small Faster R-CNN (ResNet-18-FPN,
~320 px) on it, evaluates COCO box AP on the val split, benchmarks inference, writes
a demo PNG and a zoo row (summary.json) into the work dir.

Options:
  --work-dir DIR   output folder (default work_dirs/quickstart)
  --iters N        training iterations (default ${schedule.iters})
  --images N       images to generate, train + val (default ${dataCfg.images})
  --seed S         seed of the dataset and of training (default ${dataCfg.seed})`;

/** lr at iteration `it` (0-based): linear warmup, then steps of ×0.1. */
export function quickstartLr(it: number): number {
  let lr = schedule.lr;
  for (const s of schedule.steps) if (it >= s) lr *= 0.1;
  if (it < schedule.warmupIters) {
    const k = (1 - it / schedule.warmupIters) * (1 - schedule.warmupRatio);
    lr *= 1 - k;
  }
  return lr;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmtTime(s: number): string {
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${Math.round(s % 60).toString().padStart(2, '0')}s` : `${s.toFixed(0)}s`;
}

/** Progress on one line when stderr is a terminal, a line every `every` steps otherwise. */
class Progress {
  private readonly tty = Boolean(process.stderr.isTTY);
  constructor(private readonly total: number, private readonly every = 25) {}
  update(done: number, text: string): void {
    const width = 24;
    const filled = Math.round((done / this.total) * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ${text}`;
    if (this.tty) process.stderr.write(`\r${line}\x1b[K`);
    else if (done % this.every === 0 || done === this.total) process.stderr.write(`${line}\n`);
  }
  end(): void {
    if (this.tty) process.stderr.write('\n');
  }
}

async function train(model: TwoStageDetector, loader: DataLoader, iters: number, log: fs.WriteStream): Promise<number[]> {
  const params = [...model.parameters()].filter((p) => p.requiresGrad);
  const optimizer = new SGD(params, { lr: schedule.lr, momentum: schedule.momentum, weightDecay: schedule.weightDecay });
  const progress = new Progress(iters);
  const iterTimes: number[] = [];
  const started = Date.now();
  model.train();
  let it = 0;
  let tick = performance.now();
  for await (const batch of loader.infinite()) {
    if (it >= iters) break;
    const lr = quickstartLr(it);
    for (const g of optimizer.paramGroups) g.lr = lr;
    const terms = torch.tidy(() => {
      const losses = model.loss(toDetBatch(batch, { withTargets: true }));
      const total = Object.entries(losses).filter(([k]) => k.includes('loss')).reduce((acc, [, v]) => acc.add(v), torch.zeros([]));
      optimizer.zeroGrad();
      total.backward();
      clipGradNorm_(params, schedule.gradClip);
      optimizer.step();
      return Object.fromEntries([...Object.entries(losses).map(([k, v]) => [k, v.item()]), ['loss', total.item()]]);
    });
    const now = performance.now();
    iterTimes.push((now - tick) / 1000);
    tick = now;
    it++;
    const elapsed = (Date.now() - started) / 1000;
    const eta = (elapsed / it) * (iters - it);
    log.write(`${JSON.stringify({ iter: it, lr, ...terms, time: iterTimes[iterTimes.length - 1] })}\n`);
    progress.update(it, `loss ${terms.loss.toFixed(3)} (cls ${terms.loss_cls.toFixed(3)} bbox ${terms.loss_bbox.toFixed(3)} rpn ${(terms.loss_rpn_cls + terms.loss_rpn_bbox).toFixed(3)}) lr ${lr.toExponential(1)} eta ${fmtTime(eta)}`);
  }
  progress.end();
  return iterTimes;
}

async function evaluate(model: TwoStageDetector, loader: DataLoader, catIds: number[]): Promise<{ results: CocoResult[]; inferTimes: number[] }> {
  model.eval();
  const results: CocoResult[] = [];
  const inferTimes: number[] = [];
  for await (const batch of loader.epoch(0)) {
    torch.tidy(() => {
      const input = toDetBatch(batch);
      const t0 = performance.now();
      const dets = model.predict(input);
      inferTimes.push((performance.now() - t0) / 1000 / batch.items.length);
      results.push(...toCocoResults(dets, batch.items, catIds));
    });
  }
  return { results, inferTimes };
}

function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

export const quickstartCommand: Command = {
  name: 'quickstart',
  summary: 'generate shapes, train a small Faster R-CNN, evaluate, benchmark, demo (npm start)',
  help: HELP,
  async run(argv) {
    const { values } = parseCommandArgs('quickstart', argv, {
      'work-dir': { type: 'string' }, iters: { type: 'string' }, images: { type: 'string' }, seed: { type: 'string' },
    }, false);
    const workDir = path.resolve((values['work-dir'] as string | undefined) ?? 'work_dirs/quickstart');
    const iters = numberOption('quickstart', 'iters', values.iters as string | undefined, schedule.iters, { integer: true, min: 1 });
    const images = numberOption('quickstart', 'images', values.images as string | undefined, dataCfg.images, { integer: true, min: 10 });
    const seed = numberOption('quickstart', 'seed', values.seed as string | undefined, dataCfg.seed, { integer: true, min: 0 });
    const t0 = Date.now();
    const dataDir = path.join(workDir, `shapes-${images}-s${seed}`);
    fs.mkdirSync(workDir, { recursive: true });

    if (!fs.existsSync(path.join(dataDir, 'annotations', 'instances_val.json'))) {
      console.error(`quickstart: generating ${images} synthetic shapes images in ${path.relative(process.cwd(), dataDir)}`);
      await generateShapes({ out: dataDir, images, seed, shapes: dataCfg.shapes });
    }
    const trainSet = await CocoDetection.load({ annFile: path.join(dataDir, 'annotations', 'instances_train.json'), imgDir: path.join(dataDir, 'train'), filterEmpty: true, withMasks: false });
    const valAnn = path.join(dataDir, 'annotations', 'instances_val.json');
    const valSet = await CocoDetection.load({ annFile: valAnn, imgDir: path.join(dataDir, 'val'), withMasks: false });
    const catIds = valSet.categories.map((c) => c.id);

    torch.manualSeed(seed);
    const model = buildTwoStageDetector(modelCfg);
    const trainLoader = new DataLoader({ dataset: trainSet, pipeline: dataCfg.trainPipeline, batchSize: dataCfg.batchSize, workers: dataCfg.workers, seed, shuffle: true });
    const log = fs.createWriteStream(path.join(workDir, 'train.log.jsonl'));
    console.error(`quickstart: training ${modelCfg.type} R-${modelCfg.backbone.depth}-FPN for ${iters} iterations (batch ${dataCfg.batchSize}, ${torch.getNumThreads()} threads)`);
    const iterTimes = await train(model, trainLoader, iters, log);
    log.end();
    await trainLoader.close();
    const ckpt = path.join(workDir, 'latest.safetensors');
    torch.saveSafetensors(ckpt, model.stateDict(), { config: 'quickstart/faster-rcnn_r18_fpn_shapes', iters: String(iters) });

    console.error('quickstart: evaluating on the val split');
    const valLoader = new DataLoader({ dataset: valSet, pipeline: dataCfg.testPipeline, batchSize: 1, workers: dataCfg.workers, shuffle: false });
    const { results, inferTimes } = await evaluate(model, valLoader, catIds);
    await valLoader.close();
    writeJsonAtomic(path.join(workDir, 'val_results.bbox.json'), results);
    const gt = CocoDataset.fromFile(valAnn);
    const ev = evaluateCoco(gt, results, { iouType: 'bbox' });
    for (const line of ev.summary) console.log(line);

    const firstVal = valSet.info(0);
    await drawDetections(firstVal.imgPath, results.filter((r) => r.image_id === firstVal.imgId), new Map(valSet.categories.map((c) => [c.id, c.name])), path.join(workDir, 'demo.png'));

    const summary = {
      mem_gb: Number((process.resourceUsage().maxRSS / 1024 / 1024).toFixed(3)),
      train_s_per_iter: Number(median(iterTimes.slice(Math.min(10, iterTimes.length - 1))).toFixed(4)),
      inf_fps: Number((1 / median(inferTimes.slice(Math.min(5, inferTimes.length - 1)))).toFixed(2)),
      box_ap: Number(ev.stats[0].toFixed(4)),
    };
    writeJsonAtomic(path.join(workDir, 'summary.json'), summary);
    const row = ['faster-rcnn_r18_fpn_shapes', 'R-18-FPN', summary.mem_gb.toFixed(2), summary.train_s_per_iter.toFixed(3), summary.inf_fps.toFixed(1), (summary.box_ap * 100).toFixed(1)];
    const head = ['Config', 'Backbone', 'Mem (GB)', 'Train time (s/iter)', 'Inf time (fps)', 'box AP'];
    const widths = head.map((h, i) => Math.max(h.length, row[i].length));
    const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
    console.log(['', fmt(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, fmt(row), ''].join('\n'));
    console.log(`quickstart: done in ${fmtTime((Date.now() - t0) / 1000)}; wrote ${path.relative(process.cwd(), workDir)}/{summary.json,demo.png,val_results.bbox.json,latest.safetensors,train.log.jsonl}`);
    model.dispose();
    return 0;
  },
};
