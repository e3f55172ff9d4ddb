/**
 * The segmentation speed table: tsvision's MMSegmentation configs against mmseg 1.2's own models
 * with the same (seeded random) weights, thread count and input, in one run: whole-image inference
 * img/s at each size through the public paths (ours: predictSegImage, what `tsvision infer` runs;
 * mmseg: mmseg.apis.inference_model, test pipeline included on both sides) and, with --train, one
 * SGD training step's s/iter (2 random images and label maps of the size, BN in train mode).
 *
 * mmseg's side is a server process (bench/seg_speed_ref.py, run with .cache/openmmlab/bin/python;
 * TSVISION_REF_PYTHON overrides) that builds the model from mmseg's packaged config of the same name
 * (SyncBN as BN, test_cfg mode 'whole'), saves its state dict, which ours loads strictly through
 * loadSegmentor, and keeps its model loaded. The two sides alternate step by step, which side goes
 * first alternating, so that load from other processes falls on both alike; medians are reported.
 *
 * The Cityscapes configs' test Resize is (2048, 1024) keep-ratio; to time at the requested size, its
 * scale is set to the requested (w, h) on both sides (ours: the override
 * `data.testPipeline.0.scales=[[w,h]]`, applied as `--cfg-options` applies it), so the Resize still
 * runs but leaves the image at its size.
 *
 *   node dist/bench/seg_speed.js [--methods fcn/...,pspnet/...] [--sizes 512x512,512x1024] [--threads 2]
 *     [--warmup 1] [--iters 5] [--train] [--denormal on|off] [--out FILE.json]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as torch from '../src/torch';
import { resolveConfig } from '../src/config';
import { asSegmentationConfig, loadSegmentor, predictSegImage, type LoadedSegmentor } from '../src/apis/segmentation';
import type { SegBatch } from '../src/models/segmentors/types';
import { SGD } from '../src/optim';
import { COMMON_OPTIONS, alternate, commonArgs, inTempDir, logSteps, logTable, median, refPython, startReference, writeResults, type ReferenceServer } from './ref_server';

const ALL_METHODS = [
  'fcn/fcn_r50-d8_4xb2-40k_cityscapes-512x1024',
  'pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024',
  'deeplabv3/deeplabv3_r50-d8_4xb2-40k_cityscapes-512x1024',
  'deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_cityscapes-512x1024',
  'upernet/upernet_r50_4xb2-40k_cityscapes-512x1024',
  'hrnet/fcn_hr18_4xb2-40k_cityscapes-512x1024',
];
const { values } = parseArgs({
  options: {
    methods: { type: 'string', default: ALL_METHODS.join(',') },
    sizes: { type: 'string', default: '512x512,512x1024' },
    ...COMMON_OPTIONS,
  },
});
const methods = values.methods!.split(',').filter((m) => m !== '');
const sizes = values.sizes!.split(',').map((s): [number, number] => {
  const m = /^(\d+)x(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`--sizes: expected HxW[,HxW...], got '${s}'`);
  return [Number(m[1]), Number(m[2])];
});
const { threads, warmup, iters } = commonArgs(values);
const python = refPython();
const refScript = path.join(__dirname, '..', '..', 'bench', 'seg_speed_ref.py');

/** One measurement: every step's seconds on both sides (warm-up first), and the medians after warm-up. */
interface Row {
  method: string;
  /** [h, w] */
  size: [number, number];
  kind: 'infer' | 'train';
  ours: number[];
  ref: number[];
  oursMedian: number;
  refMedian: number;
}

const row = (method: string, size: [number, number], kind: Row['kind'], [ours, ref]: [number[], number[]]): Row =>
  ({ method, size, kind, ours, ref, oursMedian: median(ours.slice(warmup)), refMedian: median(ref.slice(warmup)) });

async function benchMethod(method: string, dir: string, rows: Row[], denormal: Record<string, unknown>): Promise<void> {
  const weights = path.join(dir, `${method.replace(/\//g, '_')}.pth`);
  const ref: ReferenceServer = startReference(python, [refScript, method, weights, String(threads), values.denormal!]);
  let seg: LoadedSegmentor | undefined;
  try {
    const ready = await ref.next() as { denormal: unknown; torch: string; mmseg: string };
    denormal[method] = { mmseg: ready.denormal, tsvision: torch.flushDenormalThreads() };
    for (const [h, w] of sizes) {
      // the config as `tsvision infer CONFIG --cfg-options data.testPipeline.0.scales=[[w,h]]` loads it
      const loaded = resolveConfig(method, [`data.testPipeline.0.scales=[[${w},${h}]]`]);
      const cfg = asSegmentationConfig(loaded, 'seg_speed');
      const resize = cfg.data.testPipeline[0] as { type: string; keepRatio?: boolean };
      if (cfg.data.testPipeline.length !== 1 || resize.type !== 'Resize' || resize.keepRatio !== true) {
        throw new Error(`${method}: expected the test pipeline [Resize keepRatio], got ${JSON.stringify(cfg.data.testPipeline)}`);
      }
      if (cfg.model.testCfg.mode !== 'whole') throw new Error(`${method}: expected test mode 'whole', got ${cfg.model.testCfg.mode}`);
      seg?.model.dispose();
      seg = loadSegmentor(cfg, weights, { strict: true });
      const model = seg;
      const img = path.join(dir, `image-${h}x${w}.png`);
      await ref.ask(JSON.stringify({ cmd: 'image', h, w, path: img }));
      const infer = row(method, [h, w], 'infer', await alternate(warmup + iters,
        async () => {
          model.model.eval();
          const t0 = performance.now();
          const pred = await predictSegImage(model, img);
          torch.dispose([pred.logits, pred.labels]);
          return (performance.now() - t0) / 1000;
        },
        async () => ((await ref.ask(JSON.stringify({ cmd: 'infer', path: img, h, w }))) as { t: number }).t,
      ));
      rows.push(infer);
      logStepsOf(infer);
      if (values.train) {
        const train = row(method, [h, w], 'train', await alternate(warmup + iters, await oursTrainStep(model, ref, dir, h, w), async () => ((await ref.ask('{"cmd": "train"}')) as { t: number }).t));
        rows.push(train);
        logStepsOf(train);
      }
    }
    denormal[method] = { ...(denormal[method] as object), mmsegAfter: ((await ref.ask('{"cmd": "done"}')) as { threads_after: boolean[] }).threads_after, tsvisionAfter: torch.flushDenormalThreads() };
  } finally {
    seg?.model.dispose();
    ref.close();
  }
}

/**
 * Our training step on the reference's batch (2 random RGB images and label maps of h×w): the data
 * preprocessor's normalization, loss(), the loss terms summed, zero_grad, backward, an SGD step
 * (mmseg's schedule: lr 0.01, momentum 0.9, weight decay 5e-4), BN in train mode.
 */
async function oursTrainStep(seg: LoadedSegmentor, ref: ReferenceServer, dir: string, h: number, w: number): Promise<() => Promise<number>> {
  const file = path.join(dir, `train-${h}x${w}.raw`);
  await ref.ask(JSON.stringify({ cmd: 'train_data', h, w, path: file }));
  const raw = new Uint8Array(fs.readFileSync(file));
  const n = 2;
  const pixels = raw.subarray(0, n * 3 * h * w), labels = raw.subarray(n * 3 * h * w);
  const { mean, std } = seg.config.model.dataPreprocessor;
  const params = [...seg.model.parameters()].filter((p) => p.requiresGrad);
  const opt = new SGD(params, { lr: 0.01, momentum: 0.9, weightDecay: 0.0005 });
  return async () => {
    seg.model.train();
    const t0 = performance.now();
    torch.tidy(() => {
      const images = torch.fromTypedArray(Float32Array.from(pixels), [n, 3, h, w])
        .sub(torch.tensor(mean).view([1, 3, 1, 1])).div(torch.tensor(std).view([1, 3, 1, 1]));
      const gtSegMaps = torch.fromTypedArray(labels, [n, h, w]).to('int64');
      const batch: SegBatch = { images, metas: Array.from({ length: n }, () => ({ oriShape: [h, w], imgShape: [h, w] })), gtSegMaps };
      const losses = seg.model.loss(batch);
      const total = Object.entries(losses).filter(([k]) => k.includes('loss')).map(([, v]) => v).reduce((a, b) => a.add(b));
      opt.zeroGrad();
      total.backward();
      opt.step();
    });
    const t = (performance.now() - t0) / 1000;
    seg.model.eval();
    return t;
  };
}

const f3 = (x: number) => x.toFixed(3);
const sizeOf = ([h, w]: [number, number]) => `${h}×${w}`;

function logStepsOf(r: Row): void {
  logSteps(`${r.method}, ${sizeOf(r.size)}, ${r.kind === 'infer' ? 'inference (s/img)' : 'training step (s/iter, 2 images)'}`, 'mmseg', r.ours, r.ref, warmup);
}

async function main(): Promise<void> {
  for (const m of methods) if (!ALL_METHODS.includes(m)) console.warn(`note: ${m} is not one of the table's methods (${ALL_METHODS.join(', ')})`);
  torch.setNumThreads(threads);
  const denormalSupported = torch.setFlushDenormal(values.denormal === 'on');
  const rows: Row[] = [];
  const denormal: Record<string, unknown> = {};
  await inTempDir('tsv-bench-seg-', async (dir) => {
    for (const method of methods) await benchMethod(method, dir, rows, denormal);
  });
  const short = (m: string) => m.split('/')[1];
  console.log(`\n${threads} threads, --denormal ${values.denormal}${denormalSupported ? '' : ' (CPU: unsupported)'}; test Resize scale set to each size (w, h), keep-ratio, on both sides; medians of ${iters} after ${warmup} warm-up:\n`);
  logTable(['method', 'size', 'tsvision img/s', 'mmseg img/s', 'speed-up'], rows.filter((x) => x.kind === 'infer')
    .map((r) => [short(r.method), sizeOf(r.size), (1 / r.oursMedian).toFixed(2), (1 / r.refMedian).toFixed(2), (r.refMedian / r.oursMedian).toFixed(2)]), 2);
  const train = rows.filter((x) => x.kind === 'train');
  if (train.length > 0) {
    console.log('');
    logTable(['method', 'crop size', 'tsvision s/iter', 'mmseg s/iter', 'speed-up'], train
      .map((r) => [short(r.method), sizeOf(r.size), f3(r.oursMedian), f3(r.refMedian), (r.refMedian / r.oursMedian).toFixed(2)]), 2);
  }
  if (values.out) {
    writeResults(values.out, {
      threads, warmup, iters, denormal: values.denormal, testResize: 'scale set to each size (w, h), keep-ratio, both sides',
      speedUp: 'mmseg time / tsvision time', host: os.hostname(), cpus: os.cpus()[0]?.model, date: new Date().toISOString(),
      flushDenormal: denormal, rows,
    });
  }
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
