/**
 * Convergence on the synthetic shapes dataset (opt-in, not part of `npm test`): trains
 * the small Faster R-CNN and RPN configs (or the configs named) with the runner from scratch, evaluates them
 * (box / mask AP; proposal AR@1000; mIoU for segmentation configs; keypoint AP for pose configs), and records the loss curves and the numbers in
 * bench/results/convergence-<config>.json plus a table on stdout.
 *
 * Configs with a `tta` section are also tested with `tsvision test --tta` (metrics_tta).
 *
 *   node dist/bench/convergence.js [faster_rcnn/faster-rcnn_r18_fpn_shapes] [rpn/rpn_r18_fpn_shapes]
 *   node dist/bench/convergence.js --retest rpn/rpn_r18_fpn_shapes   # test the last checkpoint again
 *     (after changing test settings), keeping the recorded training time and loss curve
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const root = path.resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
const retest = args.includes('--retest');
const named = args.filter((a) => a !== '--retest');
const configs = named.length > 0 ? named : ['rpn/rpn_r18_fpn_shapes', 'faster_rcnn/faster-rcnn_r18_fpn_shapes'];
const outDir = path.join(root, 'bench', 'results');
fs.mkdirSync(outDir, { recursive: true });
const bin = path.join(root, 'bin', 'tsvision');
const rows: string[] = [];

type Curve = { iter: number; loss: number; lr: number; time?: number }[];
const runDirsOf = (workDir: string) => fs.readdirSync(workDir).filter((d) => /^\d{8}_\d{6}$/.test(d)).sort();

for (const name of configs) {
  const workDir = path.join(root, 'work_dirs', 'convergence', path.basename(name));
  const recordFile = path.join(outDir, `convergence-${path.basename(name)}.json`);
  let trainMin: number;
  let curve: Curve;
  if (retest) {
    if (!fs.existsSync(recordFile) || !fs.existsSync(path.join(workDir, 'last_checkpoint'))) throw new Error(`${name}: --retest needs ${recordFile} and a trained ${workDir}`);
    const old = JSON.parse(fs.readFileSync(recordFile, 'utf8')) as { trained_minutes: number; loss_curve: Curve };
    [trainMin, curve] = [old.trained_minutes, old.loss_curve];
  } else {
    fs.rmSync(workDir, { recursive: true, force: true });
    const t0 = Date.now();
    const train = spawnSync(process.execPath, [bin, 'train', name, '--work-dir', workDir], { stdio: ['ignore', 'inherit', 'inherit'], cwd: root });
    if (train.status !== 0) throw new Error(`${name}: training failed (${train.status})`);
    trainMin = (Date.now() - t0) / 60000;
    curve = fs.readFileSync(path.join(workDir, runDirsOf(workDir)[0], 'scalars.jsonl'), 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l) as Record<string, number>).filter((r) => r.loss !== undefined)
      .map((r) => ({ iter: r.iter ?? r.step, loss: r.loss, lr: r.lr, time: r.time }));
  }
  const ckpt = fs.readFileSync(path.join(workDir, 'last_checkpoint'), 'utf8').trim();
  const test = spawnSync(process.execPath, [bin, 'test', name, path.resolve(workDir, ckpt), '--work-dir', workDir], { stdio: ['ignore', 'inherit', 'inherit'], cwd: root });
  if (test.status !== 0) throw new Error(`${name}: testing failed (${test.status})`);
  // the newest run folder is the test's (it writes metrics.json)
  const metrics = JSON.parse(fs.readFileSync(path.join(workDir, runDirsOf(workDir).at(-1)!, 'metrics.json'), 'utf8')) as Record<string, number>;
  // With the config's test-time augmentation too (`tsvision test --tta`), where it has one.
  const tta = spawnSync(process.execPath, [bin, 'test', name, path.resolve(workDir, ckpt), '--work-dir', workDir, '--tta'], { stdio: ['ignore', 'inherit', 'inherit'], cwd: root });
  let metricsTta: Record<string, number> | undefined;
  if (tta.status === 0) {
    metricsTta = JSON.parse(fs.readFileSync(path.join(workDir, runDirsOf(workDir).at(-1)!, 'metrics.json'), 'utf8')) as Record<string, number>;
  }
  // The median logged iteration time × iterations: the training time on an otherwise idle machine
  // (wall time also counts whatever else ran meanwhile).
  const times = curve.map((c) => c.time).filter((t): t is number => t !== undefined).sort((a, b) => a - b);
  const medianIter = times.length ? times[times.length >> 1] : NaN;
  const lastIter = curve.length ? curve[curve.length - 1].iter : 0;
  const idleMin = (medianIter * lastIter) / 60;
  const record = { config: name, trained_minutes: Number(trainMin.toFixed(2)), median_iter_s: Number(medianIter.toFixed(3)), median_iter_x_iters_minutes: Number(idleMin.toFixed(2)), metrics, ...(metricsTta ? { metrics_tta: metricsTta } : {}), loss_curve: curve, date: new Date().toISOString(), ...(retest ? { retested: true } : {}) };
  fs.writeFileSync(recordFile, `${JSON.stringify(record, null, 1)}\n`);
  const score = (m: Record<string, number>) => (m.mIoU !== undefined ? `mIoU ${(m.mIoU * (m.mIoU <= 1 ? 100 : 1)).toFixed(1)}`
    : m.bbox_mAP !== undefined ? `box AP ${(m.bbox_mAP * 100).toFixed(1)}${m.segm_mAP !== undefined ? `, mask AP ${(m.segm_mAP * 100).toFixed(1)}` : ''}`
      : m['coco/AP'] !== undefined ? `keypoint AP ${(m['coco/AP'] * 100).toFixed(1)} (AR ${((m['coco/AR'] ?? 0) * 100).toFixed(1)})`
        : `AR@1000 ${((m['AR@1000'] ?? 0) * 100).toFixed(1)}`);
  const key = `${score(metrics)}${metricsTta ? ` (--tta: ${score(metricsTta)})` : ''}`;
  rows.push(`| ${name} | ${trainMin.toFixed(1)} | ${idleMin.toFixed(1)} (${medianIter.toFixed(3)} s/iter) | ${key} |`);
}
console.log('\n| config | training wall (min, 2 cores) | median iteration × iterations (min) | result |\n| --- | ---: | ---: | --- |');
for (const r of rows) console.log(r);
