/**
 * tsvision's torchvision/fasterrcnn_resnet50_fpn against torchvision's own model with the
 * same (random, seeded) weights, thread count and 800×1216 input, in one run: inference
 * s/img (transform + forward + post-processing) and a 2-image training step s/iter.
 *
 *   node dist/bench/faster_rcnn_torchvision.js [--threads 2] [--warmup 2] [--iters 5]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as torch from '../src/torch';
import { buildTwoStageDetector } from '../src/models/detectors/build';
import { loadTorchvisionWeights, predictTorchvision } from '../src/models/detectors/torchvision';
import { preprocessImages } from '../src/models/detectors/preprocess';
import { SGD } from '../src/optim';
import { model as tvConfig } from '../configs/torchvision/fasterrcnn_resnet50_fpn';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' }, warmup: { type: 'string', default: '2' }, iters: { type: 'string', default: '5' } } });
const threads = Number(values.threads), warmup = Number(values.warmup), iters = Number(values.iters);
const H = 800, W = 1216;
const python = process.env.TSVISION_REF_PYTHON ?? '/usr/bin/python3';
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-bench-frcnn-'));
const weights = path.join(dir, 'fasterrcnn.pth');
const raw = path.join(dir, 'image.raw');
try {
  // seeded random weights, saved by torchvision; a smooth random image
  const gen = spawnSync(python, ['-c', `
import torch, torchvision
torch.manual_seed(0)
m = torchvision.models.detection.fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None)
torch.save(m.state_dict(), '${weights}')
img = torch.nn.functional.interpolate(torch.rand(1, 3, ${H / 16}, ${W / 16}), size=(${H}, ${W}), mode='bilinear', align_corners=False)[0]
img.contiguous().numpy().tofile('${raw}')
`], { encoding: 'utf8' });
  if (gen.status !== 0) throw new Error(`reference python failed: ${gen.stderr}`);

  torch.setNumThreads(threads);
  const model = buildTwoStageDetector(tvConfig);
  { const sd = torch.loadStateDict(weights); try { loadTorchvisionWeights(model, sd); } finally { torch.dispose([...sd.values()]); } }
  const img = torch.fromTypedArray(new Float32Array(fs.readFileSync(raw).buffer.slice(0)), [3, H, W]);
  model.eval();
  const infer: number[] = [];
  for (let i = 0; i < warmup + iters; i++) {
    const t0 = performance.now();
    torch.dispose(predictTorchvision(model, tvConfig, [img]));
    if (i >= warmup) infer.push((performance.now() - t0) / 1000);
  }
  model.train();
  model.backbone.normEval();
  const params = [...model.parameters()].filter((p) => p.requiresGrad);
  const opt = new SGD(params, { lr: 0.001, momentum: 0.9 });
  const train: number[] = [];
  for (let i = 0; i < warmup + iters; i++) {
    const t0 = performance.now();
    torch.tidy(() => {
      const batch = preprocessImages([img, img], tvConfig.dataPreprocessor);
      // torchvision's targets, in resized pixels (800×1216 needs no resize)
      const target = { boxes: torch.tensor([[100, 120, 400, 500], [600, 200, 900, 700]]), labels: torch.tensor([0, 2], { dtype: 'int64' }) };
      batch.targets = [target, target];
      const losses = model.loss(batch);
      const total = Object.entries(losses).filter(([k]) => k.includes('loss')).map(([, v]) => v).reduce((a, b) => a.add(b));
      opt.zeroGrad();
      total.backward();
      opt.step();
    });
    if (i >= warmup) train.push((performance.now() - t0) / 1000);
  }
  model.dispose();
  img.dispose();

  const outFile = path.join(dir, 'ref.json');
  const ref = spawnSync(python, [path.join(__dirname, '..', '..', 'bench', 'faster_rcnn_torchvision_ref.py'), weights, raw, String(H), String(W), String(threads), String(warmup), String(iters), outFile], { encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'] });
  if (ref.status !== 0) throw new Error('reference benchmark failed');
  const r = JSON.parse(fs.readFileSync(outFile, 'utf8')) as { infer: number[]; train: number[] };

  const rows = [
    ['inference (s/img, 800×1216)', median(infer), median(r.infer)],
    ['training step (s/iter, 2 images)', median(train), median(r.train)],
  ] as const;
  console.log(`\nfasterrcnn_resnet50_fpn, ${threads} threads, medians of ${iters} after ${warmup} warm-up\n`);
  console.log('| measure | tsvision | torchvision | speed-up (torchvision / tsvision) |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const [name, ours, theirs] of rows) console.log(`| ${name} | ${ours.toFixed(3)} | ${theirs.toFixed(3)} | ${(theirs / ours).toFixed(2)} |`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
