/**
 * tsvision's torchvision/<model> configs (fasterrcnn_resnet50_fpn, maskrcnn_resnet50_fpn,
 * retinanet_resnet50_fpn) against torchvision's own models with the same (random, seeded)
 * weights, thread count and 800×1216 input, in one run: inference s/img (transform + forward +
 * post-processing) and a 2-image training step s/iter, split into forward (losses), backward
 * and optimizer (zero_grad + step), every step listed. The training targets are two boxes per
 * image (with box-filling masks for Mask R-CNN).
 *
 * The two sides alternate step by step (torchvision runs as a server process,
 * bench/torchvision_detection_ref.py; which side goes first alternates too), so that load from other
 * processes on the machine falls on both alike; each side's model stays loaded throughout.
 *
 *   node dist/bench/torchvision_detection.js [--model fasterrcnn_resnet50_fpn] [--threads 2] [--warmup 2] [--iters 5] [--denormal on|off] [--skip-train]   # --skip-train: inference only
 *
 * --denormal (default on, both sides): flush subnormal floats to zero on every intra-op
 * thread (tsvision: torch.setFlushDenormal, its default; torchvision: torch.set_flush_denormal
 * plus the same on each OpenMP worker, see bench/engine_ref.py). Off: IEEE subnormals on both
 * sides, where the backward pass slows down step after step as gradients and momentum
 * fill with subnormals.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as torch from '../src/torch';
import { median, startReference } from './ref_server';
import { buildDetector, type DetectorModelConfig } from '../src/models/detectors/build';
import { loadTorchvisionWeights, predictTorchvision } from '../src/models/detectors/torchvision';
import { preprocessImages } from '../src/models/detectors/preprocess';
import type { DetTargets } from '../src/models/detectors/types';
import { SGD } from '../src/optim';
import { model as fasterrcnn } from '../configs/torchvision/fasterrcnn_resnet50_fpn';
import { model as maskrcnn } from '../configs/torchvision/maskrcnn_resnet50_fpn';
import { model as retinanet } from '../configs/torchvision/retinanet_resnet50_fpn';

const MODELS: Record<string, DetectorModelConfig> = {
  fasterrcnn_resnet50_fpn: fasterrcnn,
  maskrcnn_resnet50_fpn: maskrcnn,
  retinanet_resnet50_fpn: retinanet,
};
const { values } = parseArgs({ options: { model: { type: 'string', default: 'fasterrcnn_resnet50_fpn' }, threads: { type: 'string', default: '2' }, warmup: { type: 'string', default: '2' }, iters: { type: 'string', default: '5' }, denormal: { type: 'string', default: 'on' }, 'skip-train': { type: 'boolean', default: false } } });
const skipTrain = values['skip-train'] === true;
const modelName = values.model!;
const tvConfig = MODELS[modelName];
if (!tvConfig) throw new Error(`--model: expected one of ${Object.keys(MODELS).join(', ')}, got ${modelName}`);
const threads = Number(values.threads), warmup = Number(values.warmup), iters = Number(values.iters);
if (values.denormal !== 'on' && values.denormal !== 'off') throw new Error(`--denormal: expected on or off, got ${values.denormal}`);
const denormalOn = values.denormal === 'on';
const H = 800, W = 1216;
const python = process.env.TSVISION_REF_PYTHON ?? '/usr/bin/python3';
interface Step { forward: number; backward: number; optimizer: number; total: number }

// the training targets, in image pixels (800×1216 needs no resize and no padding); torchvision's labels
const GT_BOXES = [[100, 120, 400, 500], [600, 200, 900, 700]];
const GT_LABELS = [1, 3];

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-bench-tvdet-'));
  const weights = path.join(dir, `${modelName}.pth`);
  const raw = path.join(dir, 'image.raw');
  try {
    // seeded random weights, saved by torchvision; a smooth random image
    const gen = spawnSync(python, ['-c', `
import torch, torchvision
torch.manual_seed(0)
m = torchvision.models.detection.${modelName}(weights=None, weights_backbone=None)
torch.save(m.state_dict(), '${weights}')
img = torch.nn.functional.interpolate(torch.rand(1, 3, ${H / 16}, ${W / 16}), size=(${H}, ${W}), mode='bilinear', align_corners=False)[0]
img.contiguous().numpy().tofile('${raw}')
`], { encoding: 'utf8' });
    if (gen.status !== 0) throw new Error(`reference python failed: ${gen.stderr}`);

    torch.setNumThreads(threads);
    const denormalSupported = torch.setFlushDenormal(denormalOn);
    const denormalThreads = torch.flushDenormalThreads();
    const ref = startReference(python, [path.join(__dirname, '..', '..', 'bench', 'torchvision_detection_ref.py'), modelName, weights, raw, String(H), String(W), String(threads), values.denormal!]);
    const refReady = await ref.next() as { denormal: { supported: boolean; threads: boolean[] } };

    const model = buildDetector(tvConfig);
    { const sd = torch.loadStateDict(weights); try { loadTorchvisionWeights(model, sd); } finally { torch.dispose([...sd.values()]); } }
    const img = torch.fromTypedArray(new Float32Array(fs.readFileSync(raw).buffer.slice(0)), [3, H, W]);
    const params = [...model.parameters()].filter((p) => p.requiresGrad);
    const opt = new SGD(params, { lr: 0.001, momentum: 0.9 });
    const oursInfer = (): number => {
      model.eval();
      const t0 = performance.now();
      torch.dispose(predictTorchvision(model, tvConfig, [img]));
      return (performance.now() - t0) / 1000;
    };
    const oursTrain = (): Step => {
      model.train();
      (model.backbone as unknown as { normEval(): void }).normEval();
      const t0 = performance.now();
      let t1 = 0, tz = 0, t2 = 0;
      torch.tidy(() => {
        const batch = preprocessImages([img, img], tvConfig.dataPreprocessor);
        batch.targets = [trainTarget(), trainTarget()];
        const losses = model.loss(batch);
        const total = Object.entries(losses).filter(([k]) => k.includes('loss')).map(([, v]) => v).reduce((a, b) => a.add(b));
        t1 = performance.now();
        opt.zeroGrad();
        tz = performance.now();
        total.backward();
        t2 = performance.now();
        opt.step();
      });
      const t3 = performance.now();
      return { forward: (t1 - t0) / 1000, backward: (t2 - tz) / 1000, optimizer: (tz - t1 + t3 - t2) / 1000, total: (t3 - t0) / 1000 };
    };
    // step i: ours first when i is even, torchvision first when odd
    const infer: number[] = [], refInfer: number[] = [];
    for (let i = 0; i < warmup + iters; i++) {
      if (i % 2 === 0) infer.push(oursInfer());
      refInfer.push(((await ref.ask('infer')) as { t: number }).t);
      if (i % 2 === 1) infer.push(oursInfer());
    }
    const steps: Step[] = [], refSteps: Step[] = [];
    for (let i = 0; i < (skipTrain ? 0 : warmup + iters); i++) {
      if (i % 2 === 0) steps.push(oursTrain());
      refSteps.push((await ref.ask('train')) as Step);
      if (i % 2 === 1) steps.push(oursTrain());
    }
    const refAfter = (await ref.ask('done')) as { threads_after: boolean[] };
    model.dispose();
    img.dispose();
    const r = { infer: refInfer, steps: refSteps, denormal: { ...refReady.denormal, threads_after: refAfter.threads_after } };
    const denormalAfter = torch.flushDenormalThreads();

    const f3 = (x: number) => x.toFixed(3);
    const flushing = (ts: boolean[]) => `${ts.filter((x) => x).length}/${ts.length} threads flushing`;
    console.log(`\n${modelName}, ${threads} threads, --denormal ${values.denormal}: ` +
      `tsvision ${flushing(denormalThreads)} at start, ${flushing(denormalAfter)} at end${denormalSupported ? '' : ' (CPU: unsupported)'}; ` +
      `torchvision ${flushing(r.denormal.threads)} at start, ${flushing(r.denormal.threads_after)} at end${r.denormal.supported ? '' : ' (CPU: unsupported)'}`);

    console.log('\nEvery step (s; warm-up steps marked *):\n');
    console.log('| step | tsvision inference | torchvision inference | tsvision forward / backward / optimizer = train | torchvision forward / backward / optimizer = train | train speed-up (torchvision / tsvision) |');
    console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
    const split = (s: Step) => `${f3(s.forward)} / ${f3(s.backward)} / ${f3(s.optimizer)} = ${f3(s.total)}`;
    for (let i = 0; i < warmup + iters; i++) {
      const train = skipTrain ? '– | – | –' : `${split(steps[i])} | ${split(r.steps[i])} | ${(r.steps[i].total / steps[i].total).toFixed(2)}`;
      console.log(`| ${i + 1}${i < warmup ? '*' : ''} | ${f3(infer[i])} | ${f3(r.infer[i])} | ${train} |`);
    }

    const timed = <T>(xs: T[]) => xs.slice(warmup);
    const med = (xs: Step[], k: keyof Step) => median(timed(xs).map((s) => s[k]));
    const rows: Array<[string, number, number]> = [
      ['inference (s/img, 800×1216)', median(timed(infer)), median(timed(r.infer))],
    ];
    if (!skipTrain) rows.push(
      ['training step (s/iter, 2 images)', med(steps, 'total'), med(r.steps, 'total')],
      ['· forward (losses)', med(steps, 'forward'), med(r.steps, 'forward')],
      ['· backward', med(steps, 'backward'), med(r.steps, 'backward')],
      ['· optimizer (zero_grad + step)', med(steps, 'optimizer'), med(r.steps, 'optimizer')],
    );
    console.log(`\nMedians of ${iters} after ${warmup} warm-up:\n`);
    console.log('| measure | tsvision | torchvision | speed-up (torchvision / tsvision) |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const [name, ours, theirs] of rows) console.log(`| ${name} | ${f3(ours)} | ${f3(theirs)} | ${(theirs / ours).toFixed(2)} |`);
    // the slowdown this flag is about grows step after step: last timed step against the first
    const last = warmup + iters - 1;
    if (last > 0 && !skipTrain) {
      console.log(`\nLast step / first step (train): tsvision ${(steps[last].total / steps[0].total).toFixed(2)}, torchvision ${(r.steps[last].total / r.steps[0].total).toFixed(2)}; ` +
        `backward: tsvision ${(steps[last].backward / steps[0].backward).toFixed(2)}, torchvision ${(r.steps[last].backward / r.steps[0].backward).toFixed(2)}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });

/**
 * One image's targets as torchvision's model gets them (bench/torchvision_detection_ref.py): two-stage
 * labels 0-based (torchvision's minus its background), RetinaNet's as they are, masks filling the boxes.
 */
function trainTarget(): DetTargets {
  const twoStage = tvConfig.type !== 'RetinaNet';
  const t: DetTargets = { boxes: torch.tensor(GT_BOXES), labels: torch.tensor(GT_LABELS.map((l) => (twoStage ? l - 1 : l)), { dtype: 'int64' }) };
  if (tvConfig.type === 'MaskRCNN') {
    const m = new Uint8Array(GT_BOXES.length * H * W);
    GT_BOXES.forEach(([x1, y1, x2, y2], k) => { for (let y = y1; y < y2; y++) m.fill(1, k * H * W + y * W + x1, k * H * W + y * W + x2); });
    t.masks = torch.fromTypedArray(m, [GT_BOXES.length, H, W]);
  }
  return t;
}
