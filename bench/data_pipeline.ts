/**
 * Data-pipeline throughput: images/s through decode + Resize (1333, 800) + RandomFlip +
 * Normalize + Pad 32 (+ collate into the batch buffer) on generated JPEGs, with 1, 2 and 4
 * worker threads, side by side with the same pipeline in Python (PIL + numpy, 1/2/4
 * processes) in the same run.
 *
 *   node dist/bench/data_pipeline.js [--images N] [--workers 1,2,4] [--python /usr/bin/python3] [--keep DIR] [--json]
 */
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CocoDetection } from '../src/data/datasets/coco';
import { DataLoader } from '../src/data/loader';
import { generateShapes } from '../src/data/synthetic/shapes';
import { detTrainPipeline } from '../src/data/transforms';

interface Row { impl: string; parallel: number; images: number; seconds: number; imagesPerS: number }

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { images: { type: 'string' }, workers: { type: 'string' }, python: { type: 'string' }, keep: { type: 'string' }, json: { type: 'boolean' } } });
  const n = Number(values.images ?? 60);
  const workerCounts = (values.workers ?? '1,2,4').split(',').map(Number);
  const python = values.python ?? '/usr/bin/python3';
  const dir = values.keep ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'tsvision-bench-')));
  const rows: Row[] = [];
  try {
    // 640-px scenes, as COCO-sized inputs: every image is upscaled to about 1333x800 or 1067x800.
    await fs.access(path.join(dir, 'annotations', 'instances_train.json')).catch(() => generateShapes({ out: dir, images: Math.ceil(n / 0.8) + 1, seed: 0, shapes: { minSize: 640, maxSize: 640 } }));
    const ds = await CocoDetection.load({ annFile: path.join(dir, 'annotations', 'instances_train.json'), imgDir: path.join(dir, 'train') });
    const count = Math.min(n, ds.length);
    const indices = Array.from({ length: count }, (_, i) => i);
    for (const workers of workerCounts) {
      const loader = new DataLoader({ dataset: ds, pipeline: detTrainPipeline([1333, 800]), batchSize: 1, workers, prefetch: 2 * workers, seed: 0 });
      for await (const _ of loader.load([[0], [1]].map((b) => ({ indices: b, epoch: 99 })).slice(0, workers * 2 > 1 ? 2 : 1))) void _; // warm up the threads
      const t0 = process.hrtime.bigint();
      for await (const _ of loader.load(indices.map((i) => ({ indices: [i], epoch: 0 })))) void _;
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      await loader.close();
      rows.push({ impl: 'tsvision (sharp)', parallel: workers, images: count, seconds, imagesPerS: count / seconds });
    }
    const list = path.join(dir, 'images.txt');
    await fs.writeFile(list, indices.map((i) => ds.info(i).imgPath).join('\n'));
    // One thread per Python process, as one libvips thread per worker (src/data/worker.ts), so a
    // worker or a process is one core on either side.
    const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };
    const r = spawnSync(python, [path.join(__dirname, '..', '..', 'bench', 'data_pipeline_ref.py'), list, ...workerCounts.map(String)], { encoding: 'utf8', env });
    if (r.status !== 0) console.error(`python reference failed: ${r.stderr || r.error}`);
    for (const line of r.stdout.split('\n').filter(Boolean)) {
      const j = JSON.parse(line) as { processes: number; images: number; seconds: number; images_per_s: number };
      rows.push({ impl: 'python (PIL+numpy)', parallel: j.processes, images: j.images, seconds: j.seconds, imagesPerS: j.images_per_s });
    }
  } finally {
    if (!values.keep) await fs.rm(dir, { recursive: true, force: true });
  }
  if (values.json) {
    console.log(JSON.stringify(rows));
    return;
  }
  console.log(`decode + resize (1333, 800) + flip + normalize + pad 32, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'})`);
  console.log('implementation        workers  images  seconds  images/s  vs python (same count)');
  for (const row of rows) {
    const py = rows.find((r) => r.impl.startsWith('python') && r.parallel === row.parallel);
    const ratio = py ? (row.imagesPerS / py.imagesPerS).toFixed(2) + 'x' : '';
    console.log(`${row.impl.padEnd(22)}${String(row.parallel).padStart(7)}${String(row.images).padStart(8)}${row.seconds.toFixed(2).padStart(9)}${row.imagesPerS.toFixed(1).padStart(10)}  ${row.impl.startsWith('python') ? '' : ratio}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
