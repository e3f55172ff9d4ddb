/**
 * Convergence on the synthetic shapes dataset (opt-in, not part of `npm test`): trains
 * the small Faster R-CNN and RPN configs with the runner from scratch, evaluates them
 * (box AP; proposal AR@1000), and records the loss curves and the numbers in
 * bench/results/convergence-<config>.json plus a table on stdout.
 *
 *   node dist/bench/convergence.js [faster_rcnn/faster-rcnn_r18_fpn_shapes] [rpn/rpn_r18_fpn_shapes]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const root = path.resolve(__dirname, '..', '..');
const configs = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['rpn/rpn_r18_fpn_shapes', 'faster_rcnn/faster-rcnn_r18_fpn_shapes'];
const outDir = path.join(root, 'bench', 'results');
fs.mkdirSync(outDir, { recursive: true });
const bin = path.join(root, 'bin', 'tsvision');
const rows: string[] = [];

for (const name of configs) {
  const workDir = path.join(root, 'work_dirs', 'convergence', path.basename(name));
  fs.rmSync(workDir, { recursive: true, force: true });
  const t0 = Date.now();
  const train = spawnSync(process.execPath, [bin, 'train', name, '--work-dir', workDir], { stdio: ['ignore', 'inherit', 'inherit'], cwd: root });
  if (train.status !== 0) throw new Error(`${name}: training failed (${train.status})`);
  const trainMin = (Date.now() - t0) / 60000;
  const ckpt = fs.readFileSync(path.join(workDir, 'last_checkpoint'), 'utf8').trim();
  const test = spawnSync(process.execPath, [bin, 'test', name, path.resolve(workDir, ckpt), '--work-dir', workDir], { stdio: ['ignore', 'inherit', 'inherit'], cwd: root });
  if (test.status !== 0) throw new Error(`${name}: testing failed (${test.status})`);
  // run folders: the training run first, then the test run (which writes metrics.json)
  const runDirs = fs.readdirSync(workDir).filter((d) => /^\d{8}_\d{6}$/.test(d)).sort();
  const metrics = JSON.parse(fs.readFileSync(path.join(workDir, runDirs[runDirs.length - 1], 'metrics.json'), 'utf8')) as Record<string, number>;
  const runDir = runDirs[0];
  const curve = fs.readFileSync(path.join(workDir, runDir, 'scalars.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>).filter((r) => r.loss !== undefined)
    .map((r) => ({ iter: r.iter ?? r.step, loss: r.loss, lr: r.lr }));
  const record = { config: name, trained_minutes: Number(trainMin.toFixed(2)), metrics, loss_curve: curve, date: new Date().toISOString() };
  fs.writeFileSync(path.join(outDir, `convergence-${path.basename(name)}.json`), `${JSON.stringify(record, null, 1)}\n`);
  const key = metrics.bbox_mAP !== undefined ? `box AP ${(metrics.bbox_mAP * 100).toFixed(1)}` : `AR@1000 ${((metrics['AR@1000'] ?? 0) * 100).toFixed(1)}`;
  rows.push(`| ${name} | ${trainMin.toFixed(1)} | ${key} |`);
}
console.log('\n| config | training (min, 2 cores) | result |\n| --- | ---: | --- |');
for (const r of rows) console.log(r);
