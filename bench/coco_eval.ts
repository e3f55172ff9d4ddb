/**
 * Benchmark: COCO bbox evaluation on a COCO-val-sized case, tsvision vs pycocotools.
 *
 *   node dist/bench/coco_eval.js [--images 5000] [--runs 3] [--ref-runs 1] [--no-reference]
 *
 * The case is generated here (seeded): 5,000 images, ~35,000 ground-truth boxes over 80
 * categories (1% crowd), 100 detections per image (jittered copies of the ground truth and
 * background boxes; scores rounded to 3 decimals so ties occur). Each run is a fresh process
 * that loads both JSON files, evaluates, accumulates and summarizes; we report the wall time
 * of that work (timed inside the process, interpreter start-up excluded for both) and the
 * process's peak RSS, and check that both give the same 12 stats.
 *
 * The reference runs with the Python in $PYCOCOTOOLS_PYTHON, else /usr/bin/python3 if it
 * has pycocotools, else a venv created under .cache/ (pip install pycocotools).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '../src/data/rng';
import { CocoDataset, evaluateCoco, loadResults } from '../src/evaluation';

const repoRoot = path.resolve(__dirname, '..', '..');

interface RunResult {
  seconds: number;
  peakRssMb: number;
  stats: number[];
}

/** Writes gt.json and dt.json for `numImages` images into `dir` (reused when present). */
function generateCase(dir: string, numImages: number, seed = 1): { gtFile: string; dtFile: string; numGt: number; numDt: number } {
  const gtFile = path.join(dir, 'gt.json');
  const dtFile = path.join(dir, 'dt.json');
  const metaFile = path.join(dir, 'meta.json');
  if (fs.existsSync(metaFile)) return { gtFile, dtFile, ...JSON.parse(fs.readFileSync(metaFile, 'utf8')) };
  fs.mkdirSync(dir, { recursive: true });
  const rng = new Rng(seed);
  const rand = (): number => rng.next();
  const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;
  const numCats = 80;
  // Category frequencies skewed like COCO's (a few very common classes).
  const catWeights = Array.from({ length: numCats }, (_, k) => 1 / (1 + k * 0.15));
  const totalW = catWeights.reduce((a, b) => a + b, 0);
  const pickCat = (): number => {
    let r = rand() * totalW;
    for (let k = 0; k < numCats; k++) if ((r -= catWeights[k]) <= 0) return k + 1;
    return numCats;
  };
  const images = [];
  const annotations = [];
  const dets: string[] = [];
  let annId = 1;
  for (let i = 0; i < numImages; i++) {
    const width = 400 + Math.floor(rand() * 241);
    const height = 400 + Math.floor(rand() * 241);
    const imageId = 100000 + i * 7;
    images.push({ id: imageId, width, height, file_name: `${imageId}.jpg` });
    const numGt = Math.max(0, Math.round(7 + (rand() + rand() + rand() - 1.5) * 8));
    const gts: { box: number[]; cat: number }[] = [];
    for (let g = 0; g < numGt; g++) {
      // log-uniform sides from 4 to 400 px: small, medium and large objects
      const bw = Math.min(width - 1, Math.exp(Math.log(4) + rand() * Math.log(100)));
      const bh = Math.min(height - 1, bw * Math.exp((rand() - 0.5) * 1.4));
      const x = rand() * (width - bw);
      const y = rand() * (height - bh);
      const cat = pickCat();
      const box = [round(x), round(y), round(bw), round(bh)];
      const iscrowd = rand() < 0.01 ? 1 : 0;
      annotations.push({ id: annId++, image_id: imageId, category_id: cat, bbox: box, area: round(bw * bh * (0.6 + 0.3 * rand())), iscrowd, segmentation: [[box[0], box[1], box[0] + box[2], box[1], box[0] + box[2], box[1] + box[3], box[0], box[1] + box[3]]] });
      gts.push({ box, cat });
    }
    let n = 0;
    for (const g of gts) {
      const copies = 1 + Math.floor(rand() * 3);
      for (let c = 0; c < copies && n < 100; c++, n++) {
        const [x, y, w, h] = g.box;
        const j = 0.25 * (c + 1);
        const bw = Math.max(1, w * (1 + (rand() - 0.5) * j));
        const bh = Math.max(1, h * (1 + (rand() - 0.5) * j));
        const cat = rand() < 0.9 ? g.cat : pickCat();
        dets.push(JSON.stringify({ image_id: imageId, category_id: cat, bbox: [round(x + (rand() - 0.5) * j * w), round(y + (rand() - 0.5) * j * h), round(bw), round(bh)], score: round(0.3 + 0.7 * rand(), 3) }));
      }
    }
    for (; n < 100; n++) {
      const bw = 4 + rand() * 300;
      const bh = 4 + rand() * 300;
      dets.push(JSON.stringify({ image_id: imageId, category_id: pickCat(), bbox: [round(rand() * (width - 4)), round(rand() * (height - 4)), round(bw), round(bh)], score: round(0.5 * rand(), 3) }));
    }
  }
  const categories = Array.from({ length: numCats }, (_, k) => ({ id: k + 1, name: `class_${k + 1}`, supercategory: 'thing' }));
  fs.writeFileSync(gtFile, JSON.stringify({ images, annotations, categories }));
  fs.writeFileSync(dtFile, `[${dets.join(',')}]`);
  const meta = { numGt: annotations.length, numDt: dets.length };
  fs.writeFileSync(metaFile, JSON.stringify(meta));
  return { gtFile, dtFile, ...meta };
}

/** In the child process: one full evaluation, timed, printed as JSON. */
function childRun(gtFile: string, dtFile: string): void {
  const t0 = process.hrtime.bigint();
  const gt = CocoDataset.fromFile(gtFile);
  const dt = loadResults(gt, dtFile, { iouType: 'bbox' });
  const res = evaluateCoco(gt, dt, { iouType: 'bbox' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ seconds, peakRssMb, stats: res.stats }));
}

const PY_CHILD = `
import json, resource, sys, time, io, contextlib
t0 = time.perf_counter()
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(sys.argv[1])
    dt = gt.loadRes(sys.argv[2])
    E = COCOeval(gt, dt, 'bbox')
    E.evaluate(); E.accumulate(); E.summarize()
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({'seconds': seconds, 'peakRssMb': peak, 'stats': [float(s) for s in E.stats]}))
`;

function runChild(cmd: string, args: string[]): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 2).join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as RunResult;
}

function hasPycocotools(python: string): boolean {
  return spawnSync(python, ['-c', 'import pycocotools.cocoeval'], { stdio: 'ignore' }).status === 0;
}

/** A Python with pycocotools, or null (with the reason printed). */
function referencePython(): string | null {
  const env = process.env.PYCOCOTOOLS_PYTHON;
  if (env) return hasPycocotools(env) ? env : (console.error(`bench: $PYCOCOTOOLS_PYTHON=${env} cannot import pycocotools`), null);
  if (hasPycocotools('/usr/bin/python3')) return '/usr/bin/python3';
  const venv = path.join(repoRoot, '.cache', 'pycocotools-venv');
  const py = path.join(venv, 'bin', 'python');
  if (fs.existsSync(py) && hasPycocotools(py)) return py;
  console.error(`bench: creating ${venv} with pycocotools (pip) ...`);
  const mk = spawnSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  const pip = mk.status === 0 ? spawnSync(py, ['-m', 'pip', 'install', '-q', 'pycocotools', 'numpy<2'], { stdio: 'inherit' }) : mk;
  if (pip.status !== 0 || !hasPycocotools(py)) {
    console.error('bench: pycocotools is not available; reference column skipped');
    return null;
  }
  return py;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function main(): void {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') return childRun(argv[1], argv[2]);
  const opt = (name: string, fallback: number): number => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const numImages = opt('images', 5000);
  const runs = opt('runs', 3);
  const refRuns = opt('ref-runs', 1);
  const dir = path.join(os.tmpdir(), `tsvision-bench-coco-eval-v2-${numImages}`);
  const t0 = Date.now();
  const { gtFile, dtFile, numGt, numDt } = generateCase(dir, numImages);
  console.log(`case: ${numImages} images, ${numGt} ground-truth boxes, 80 categories, ${numDt} detections (${dir}, ready in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  const ours: RunResult[] = [];
  for (let i = 0; i < runs; i++) {
    ours.push(runChild(process.execPath, [__filename, '--child', gtFile, dtFile]));
    console.log(`  tsvision run ${i + 1}: ${ours[i].seconds.toFixed(2)} s, ${ours[i].peakRssMb.toFixed(0)} MB`);
  }
  const ref: RunResult[] = [];
  const python = argv.includes('--no-reference') ? null : referencePython();
  if (python) {
    for (let i = 0; i < refRuns; i++) {
      ref.push(runChild(python, ['-c', PY_CHILD, gtFile, dtFile]));
      console.log(`  pycocotools run ${i + 1}: ${ref[i].seconds.toFixed(2)} s, ${ref[i].peakRssMb.toFixed(0)} MB`);
    }
  }

  const oursT = median(ours.map((r) => r.seconds));
  const oursM = median(ours.map((r) => r.peakRssMb));
  const rows = [['implementation', 'runs', 'wall time (s), median', 'peak RSS (MB), median']];
  rows.push(['tsvision', String(runs), oursT.toFixed(2), oursM.toFixed(0)]);
  if (ref.length) {
    const refT = median(ref.map((r) => r.seconds));
    const refM = median(ref.map((r) => r.peakRssMb));
    rows.push([`pycocotools${refRuns === 1 ? ' (1 run: slow)' : ''}`, String(refRuns), refT.toFixed(2), refM.toFixed(0)]);
    rows.push(['ratio pycocotools / tsvision', '', `${(refT / oursT).toFixed(1)}x faster`, `${(refM / oursM).toFixed(1)}x less memory`]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  console.log();
  for (const [i, r] of rows.entries()) {
    console.log(`| ${r.map((v, c) => v.padEnd(widths[c])).join(' | ')} |`);
    if (i === 0) console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  }
  if (ref.length) {
    const diff = Math.max(...ours[0].stats.map((v, i) => Math.abs(v - ref[0].stats[i])));
    console.log(`\nstats agree with pycocotools: max |difference| = ${diff.toExponential(2)} over 12 stats (AP ${ours[0].stats[0].toFixed(4)})`);
  } else console.log(`\nAP ${ours[0].stats[0].toFixed(4)} (pycocotools not run)`);
}

main();
