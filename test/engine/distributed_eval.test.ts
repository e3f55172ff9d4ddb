/**
 * Distributed evaluation (Runner.val with a process group): each rank predicts its unpadded
 * share of the validation set, the evaluators' states are gathered to rank 0 one rank at a
 * time through the store, rank 0 evaluates and every rank gets its metrics. The merged metrics
 * equal one process's: the toy task's (37 samples on 2 ranks), and the COCO box AP of the
 * detection evaluator (8 images on 3 ranks: shares of 3, 3 and 2).
 */
import { glooTest as test } from '../distributed/gloo_test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../distributed/spawn';
import { writeSameBoxesCoco } from '../helpers/same_boxes_coco';
import { ToyEvaluator } from '../../src/engine/toy';

interface Result { metrics: Record<string, number>; samples: number }

function runRank(job: Record<string, unknown>): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(__dirname, 'dist_eval_worker.js'), JSON.stringify(job)], {
      env: { ...process.env, TSVISION_NUM_THREADS: '1', OMP_NUM_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) reject(new Error(`rank ${job.rank} exited ${code}:\n${err.slice(-3000)}`));
      else resolve(JSON.parse(line.slice(7)));
    });
  });
}

async function runWorld(worldSize: number, job: Record<string, unknown>): Promise<Result[]> {
  const port = await freePort();
  return Promise.all(Array.from({ length: worldSize }, (_, rank) => runRank({ ...job, rank, worldSize, port })));
}

test('toy: 2 ranks, 37 validation samples: the merged metrics equal one process\'s, on every rank', async () => {
  const [single] = await runWorld(1, { kind: 'toy' });
  const ranks = await runWorld(2, { kind: 'toy' });
  // not to the last bit: the MLP's float32 matmuls round differently for batches of other
  // sizes (the shards batch other samples together), ~1e-9 relative; duplicates or a lost
  // sample would move the metrics by ~1e-2
  for (const r of ranks) {
    for (const m of ['mse', 'mae']) assert.ok(Math.abs(r.metrics[m] - single.metrics[m]) <= 1e-7 * single.metrics[m], `${m}: ${r.metrics[m]} vs ${single.metrics[m]}`);
  }
  assert.deepEqual(ranks[0].metrics, ranks[1].metrics);
});

test('detection (COCO box AP): 3 ranks, 8 images in shares of 3, 3, 2: the merged metrics equal one process\'s exactly', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-disteval-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  await writeSameBoxesCoco(dir, 40); // 32 train, 8 val
  const [single] = await runWorld(1, { kind: 'detection', dataDir: dir });
  assert.equal(single.samples, 8);
  assert.ok(single.metrics.bbox_mAP > 0.1 && single.metrics.bbox_mAP < 0.95, `bbox_mAP ${single.metrics.bbox_mAP}: the stand-in detections should be imperfect`);
  const ranks = await runWorld(3, { kind: 'detection', dataDir: dir });
  assert.deepEqual(ranks.map((r) => r.samples), [3, 3, 2]); // no padding duplicates
  for (const r of ranks) assert.deepEqual(r.metrics, single.metrics);
});

test('evaluator state() and merge(): a JSON round trip of one half merged into the other gives the whole\'s metrics', () => {
  const whole = new ToyEvaluator(['mse', 'mae']);
  const [a, b] = [new ToyEvaluator(['mse', 'mae']), new ToyEvaluator(['mse', 'mae'])];
  const x = { x: new Float32Array(0), n: 0 };
  whole.process({ ...x, y: Float32Array.of(1, 2, 3, 4) }, Float32Array.of(1.5, 2, 2, 5));
  a.process({ ...x, y: Float32Array.of(1, 2) }, Float32Array.of(1.5, 2));
  b.process({ ...x, y: Float32Array.of(3, 4) }, Float32Array.of(2, 5));
  a.merge(JSON.parse(JSON.stringify(b.state())));
  // hand values: errors 0.5, 0, -1, 1 → mse (0.25 + 0 + 1 + 1) / 4, mae 2.5 / 4
  assert.deepEqual(a.evaluate(), { mse: 2.25 / 4, mae: 2.5 / 4 });
  assert.deepEqual(whole.evaluate(), a.evaluate());
  assert.throws(() => a.merge({ predictions: [1] }), /toy evaluator: merge expects \{ predictions: number\[\], targets: number\[\] \} of equal length/);
});
