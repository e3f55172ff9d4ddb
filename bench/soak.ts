/**
 * Soak: many training iterations of a small Faster R-CNN (the quickstart's
 * `faster_rcnn/faster-rcnn_r18_fpn_shapes`, on small synthetic images) with validation and
 * checkpoints at intervals, sampling memory every K iterations: the process's RSS, V8's heap,
 * external and ArrayBuffer memory, and libtorch's live tensor count. Writes the samples to
 * bench/results/<name>.json and .csv and prints a table plus the growth after warm-up.
 * Pass: RSS grows by less than 5 % from the warm-up iteration to the end, and the live
 * tensor count does not grow at all.
 *
 *   node dist/bench/soak.js [--iters 10000] [--every 50] [--val-every 500] [--ckpt-every 500]
 *     [--warmup 1000] [--size 64] [--images 40] [--batch 2] [--workers 1] [--name soak]
 *     [--work-dir work_dirs/soak] [--threads N (default 1, or $TSVISION_NUM_THREADS)]
 *
 * Exit code 0 when both pass, 1 when one fails, 2 on a bad argument.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as torch from '../src/torch';
import { resolveConfig, writeFileAtomic } from '../src/config';
import { buildRunner, type Hook } from '../src/engine';

export interface SoakSample {
  iter: number;
  seconds: number;
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  arrayBuffersMb: number;
  /** Linux (/proc/self/status): the anonymous (heap) and file-backed (mapped libraries) parts of RSS; 0 elsewhere. */
  rssAnonMb: number;
  rssFileMb: number;
  liveTensors: number;
}

const SAMPLE_COLUMNS: readonly (keyof SoakSample)[] = [
  'iter', 'seconds', 'rssMb', 'heapUsedMb', 'heapTotalMb', 'externalMb', 'arrayBuffersMb', 'rssAnonMb', 'rssFileMb', 'liveTensors',
];

export interface SoakOptions {
  iters: number;
  every: number;
  valEvery: number;
  ckptEvery: number;
  warmup: number;
  size: number;
  images: number;
  batch: number;
  workers: number;
  name: string;
  workDir: string;
  outDir: string;
  quiet: boolean;
}

export interface SoakResult {
  options: SoakOptions;
  samples: SoakSample[];
  itersPerSecond: number;
  /** RSS and live tensors from the warm-up sample to the last one. */
  growth: { fromIter: number; toIter: number; window: number; rssMedianFirstMb: number; rssMedianLastMb: number; rssMedianPct: number; rssPct: number; rssMaxMb: number; rssAnonMb: number; rssFileMb: number; liveTensors: number; heapUsedPct: number };
  pass: boolean;
  jsonFile: string;
  csvFile: string;
}

export const DEFAULTS: SoakOptions = {
  iters: 10000, every: 50, valEvery: 500, ckptEvery: 500, warmup: 1000, size: 64, images: 40, batch: 2, workers: 1,
  name: 'soak', workDir: 'work_dirs/soak', outDir: 'bench/results', quiet: false,
};

const MB = 2 ** 20;
const round1 = (x: number) => Math.round(x * 10) / 10;

/** RssAnon and RssFile in MB from /proc/self/status (0 where there is none). */
function rssParts(): { anon: number; file: number } {
  let status = '';
  try {
    status = fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    return { anon: 0, file: 0 };
  }
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { anon: round1(kb('RssAnon') / 1024), file: round1(kb('RssFile') / 1024) };
}

function sample(iter: number, t0: number): SoakSample {
  const m = process.memoryUsage();
  const parts = rssParts();
  return {
    iter,
    seconds: round1((performance.now() - t0) / 1000),
    rssMb: round1(m.rss / MB),
    heapUsedMb: round1(m.heapUsed / MB),
    heapTotalMb: round1(m.heapTotal / MB),
    externalMb: round1(m.external / MB),
    arrayBuffersMb: round1(m.arrayBuffers / MB),
    rssAnonMb: parts.anon,
    rssFileMb: parts.file,
    liveTensors: torch.liveTensors(),
  };
}

/** The config overrides for a soak run (data generated under the work dir, at `size` px). */
export function soakOverrides(o: SoakOptions): string[] {
  const dataDir = path.join(o.workDir, `data-${o.size}-${o.images}`);
  return [
    `train.maxIters=${o.iters}`,
    `train.valInterval=${o.valEvery}`,
    // linear warm-up, then one lr for the whole run (the config's steps at 620/760 are for its 800 iterations);
    // lr halved with the batch (4 → 2 images)
    'paramScheduler=[{"type":"LinearLR","startFactor":0.001,"byEpoch":false,"begin":0,"end":100}]',
    `optimWrapper.optimizer.lr=${0.02 * (o.batch / 4)}`,
    `hooks.logger.interval=${o.every}`,
    `hooks.checkpoint.interval=${o.ckptEvery}`,
    'hooks.checkpoint.maxKeep=1',
    'hooks.checkpoint.saveLast=true',
    `data.batchSize=${o.batch}`,
    `data.workers=${o.workers}`,
    `data.train.annFile=${dataDir}/annotations/instances_train.json`,
    `data.train.imgDir=${dataDir}/train`,
    `data.val.annFile=${dataDir}/annotations/instances_val.json`,
    `data.val.imgDir=${dataDir}/val`,
    `data.generate.dir=${dataDir}`,
    `data.generate.images=${o.images}`,
    `data.generate.shapes.minSize=${o.size}`,
    `data.generate.shapes.maxSize=${o.size}`,
    `data.generate.shapes.objectSize=[${Math.max(8, Math.round(o.size / 10))},${Math.round(o.size / 2)}]`,
    `data.trainPipeline.0.scales=[[${o.size},${o.size}]]`,
    `data.testPipeline.0.scales=[[${o.size},${o.size}]]`,
    `workDir=${path.join(o.workDir, 'run')}`,
    // lighter heads for small images (fewer proposals and sampled RoIs): the same code paths, a fraction of the time
    'model.trainCfg.rpnProposal.nmsPre=300',
    'model.trainCfg.rpnProposal.maxPerImg=100',
    'model.trainCfg.rcnn.sampler.num=64',
    'model.testCfg.rpn.nmsPre=300',
    'model.testCfg.rpn.maxPerImg=100',
  ];
}

/** Runs the soak and writes its samples; returns them with the growth figures. */
export async function runSoak(opts: Partial<SoakOptions> = {}): Promise<SoakResult> {
  const o: SoakOptions = { ...DEFAULTS, ...opts };
  const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  for (const k of ['iters', 'every', 'batch', 'size', 'images'] as const) {
    if (!(Number.isInteger(o[k]) && o[k] >= 1)) throw new Error(`soak: ${flag(k)}: expected a positive integer, got ${o[k]}`);
  }
  for (const k of ['valEvery', 'ckptEvery', 'warmup', 'workers'] as const) {
    if (!(Number.isInteger(o[k]) && o[k] >= 0)) throw new Error(`soak: ${flag(k)}: expected an integer >= 0, got ${o[k]}`);
  }
  const loaded = resolveConfig('faster_rcnn/faster-rcnn_r18_fpn_shapes', soakOverrides(o));
  fs.rmSync(path.join(o.workDir, 'run'), { recursive: true, force: true });
  // The CSV grows a row per sample (a long run can be watched, and a crash keeps what was sampled);
  // the JSON, with the growth figures, is written (atomically) at the end.
  fs.mkdirSync(o.outDir, { recursive: true });
  const jsonFile = path.join(o.outDir, `${o.name}.json`);
  const csvFile = path.join(o.outDir, `${o.name}.csv`);
  fs.rmSync(jsonFile, { force: true });
  fs.writeFileSync(csvFile, `${SAMPLE_COLUMNS.join(',')}\n`);
  const samples: SoakSample[] = [];
  const t0 = performance.now();
  let tFirst = 0;
  const log = (line: string) => { if (!o.quiet) console.log(line); };
  const sampler: Hook = {
    name: 'SoakSampler',
    afterTrainIter(runner) {
      const { iter } = runner.progress;
      if (iter === 1) tFirst = performance.now();
      if (iter % o.every !== 0 && iter !== o.iters) return;
      const s = sample(iter, t0);
      samples.push(s);
      fs.appendFileSync(csvFile, `${SAMPLE_COLUMNS.map((c) => s[c]).join(',')}\n`);
      log(`soak ${String(iter).padStart(String(o.iters).length)}/${o.iters}  rss ${s.rssMb.toFixed(1)} MB (anon ${s.rssAnonMb.toFixed(1)}, file ${s.rssFileMb.toFixed(1)})  heapUsed ${s.heapUsedMb.toFixed(1)} MB  ` +
        `external ${s.externalMb.toFixed(1)} MB  liveTensors ${s.liveTensors}  ${s.seconds.toFixed(0)} s`);
    },
  };
  const runner = buildRunner(loaded, { mode: 'train', hooks: [sampler], quiet: true });
  await runner.train();
  const tEnd = performance.now();
  const itersPerSecond = o.iters > 1 ? (o.iters - 1) / ((tEnd - tFirst) / 1000) : 0;

  const last = samples[samples.length - 1];
  const base = samples.find((s) => s.iter >= o.warmup) ?? samples[0];
  // Single samples swing with garbage not yet collected (±10 MB of external memory), so the pass/fail
  // compares medians of RSS over the first and the last window after warm-up (1,000 iterations, or a
  // quarter of the run when shorter); the sample-to-sample figure is reported beside it.
  const after = samples.filter((s) => s.iter >= base.iter);
  const window = Math.max(o.every, Math.min(1000, Math.floor((last.iter - base.iter) / 4)));
  const median = (xs: number[]): number => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  };
  const firstMedian = median(after.filter((s) => s.iter <= base.iter + window).map((s) => s.rssMb));
  const lastMedian = median(after.filter((s) => s.iter >= last.iter - window).map((s) => s.rssMb));
  const growth = {
    fromIter: base.iter,
    toIter: last.iter,
    window,
    rssMedianFirstMb: round1(firstMedian),
    rssMedianLastMb: round1(lastMedian),
    rssMedianPct: Math.round(((lastMedian - firstMedian) / firstMedian) * 1000) / 10,
    rssPct: Math.round(((last.rssMb - base.rssMb) / base.rssMb) * 1000) / 10,
    rssMaxMb: round1(Math.max(...after.map((s) => s.rssMb))),
    heapUsedPct: Math.round(((last.heapUsedMb - base.heapUsedMb) / base.heapUsedMb) * 1000) / 10,
    rssAnonMb: round1(last.rssAnonMb - base.rssAnonMb),
    rssFileMb: round1(last.rssFileMb - base.rssFileMb),
    // the largest count after warm-up, not only the last: a leak that a later free hides still counts
    liveTensors: Math.max(...after.map((s) => s.liveTensors)) - base.liveTensors,
  };
  const pass = growth.rssMedianPct < 5 && growth.liveTensors <= 0;

  const record = {
    config: loaded.name, options: o, threads: torch.getNumThreads(), date: new Date().toISOString(), node: process.version,
    itersPerSecond: Math.round(itersPerSecond * 100) / 100, growth, pass, samples,
  };
  writeFileAtomic(jsonFile, `${JSON.stringify(record, null, 1)}\n`);
  return { options: o, samples, itersPerSecond, growth, pass, jsonFile, csvFile };
}

/** The table: every sample when there are few, else about 20 rows (the warm-up sample and the last included). */
export function table(r: SoakResult): string {
  const s = r.samples;
  const step = Math.max(1, Math.ceil(s.length / 20));
  const rows = s.filter((x, i) => i % step === 0 || i === s.length - 1 || x.iter === r.growth.fromIter);
  const lines = ['| iteration | RSS (MB) | RSS anon / file (MB) | heapUsed (MB) | external (MB) | liveTensors |', '| ---: | ---: | ---: | ---: | ---: | ---: |'];
  for (const x of rows) lines.push(`| ${x.iter} | ${x.rssMb.toFixed(1)} | ${x.rssAnonMb.toFixed(1)} / ${x.rssFileMb.toFixed(1)} | ${x.heapUsedMb.toFixed(1)} | ${x.externalMb.toFixed(1)} | ${x.liveTensors} |`);
  const g = r.growth;
  lines.push('', `${r.itersPerSecond.toFixed(2)} it/s. Growth from iteration ${g.fromIter} to ${g.toIter}: ` +
    `median RSS of the first and last ${g.window} iterations ${g.rssMedianFirstMb} -> ${g.rssMedianLastMb} MB, ${g.rssMedianPct >= 0 ? '+' : ''}${g.rssMedianPct} % (pass < 5 %); ` +
    `sample to sample ${g.rssPct >= 0 ? '+' : ''}${g.rssPct} % (max ${g.rssMaxMb} MB; anon ${g.rssAnonMb >= 0 ? '+' : ''}${g.rssAnonMb} MB, file ${g.rssFileMb >= 0 ? '+' : ''}${g.rssFileMb} MB), liveTensors ${g.liveTensors >= 0 ? '+' : ''}${g.liveTensors}, heapUsed ${g.heapUsedPct >= 0 ? '+' : ''}${g.heapUsedPct} %: ${r.pass ? 'PASS' : 'FAIL'}`);
  lines.push(`Samples: ${r.jsonFile}, ${r.csvFile}`);
  return lines.join('\n');
}

function parseArgs(argv: string[]): Partial<SoakOptions> {
  const o: Partial<SoakOptions> = {};
  // One intra-op thread unless asked: on a shared 2-core VM two threads ran 5x slower (OpenMP spinning under load).
  if (!process.env.TSVISION_NUM_THREADS) torch.setNumThreads(1);
  const keys: Record<string, keyof SoakOptions> = {
    '--iters': 'iters', '--every': 'every', '--val-every': 'valEvery', '--ckpt-every': 'ckptEvery', '--warmup': 'warmup',
    '--size': 'size', '--images': 'images', '--batch': 'batch', '--workers': 'workers', '--name': 'name', '--work-dir': 'workDir',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--threads') {
      const n = Number(argv[++i]);
      if (!(Number.isInteger(n) && n >= 1)) throw new Error(`soak: --threads: expected a positive integer, got ${argv[i]}`);
      torch.setNumThreads(n);
      continue;
    }
    const k = keys[a];
    if (!k) throw new Error(`soak: unknown argument ${a} (${[...Object.keys(keys), '--threads'].join(', ')})`);
    const v = argv[++i];
    if (v === undefined) throw new Error(`soak: ${a} needs a value`);
    (o as Record<string, unknown>)[k] = k === 'name' || k === 'workDir' ? v : Number(v);
  }
  return o;
}

if (require.main === module) {
  let opts: Partial<SoakOptions>;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  runSoak(opts).then((r) => {
    console.log(`\n${table(r)}`);
    process.exitCode = r.pass ? 0 : 1;
  }, (e: Error) => {
    console.error(e.stack ?? e.message);
    process.exitCode = 2;
  });
}
