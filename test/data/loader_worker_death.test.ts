/**
 * A loader worker that dies (issue 14, item 7): its in-flight samples are rejected with an
 * Error naming the worker and exit code within a bounded time (no hang), and the loader
 * respawns the worker for later jobs.
 */
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import type { Dataset, DataInfo } from '../../src/data/datasets/dataset';
import { DataLoader } from '../../src/data/loader';
import { halfImage, pngBytes, tempDir } from './helpers';

let dir: string;
let ds: Dataset;

before(async () => {
  dir = await tempDir('loader-death');
  const infos: DataInfo[] = [];
  for (let i = 0; i < 4; i++) {
    const imgPath = path.join(dir, `${i}.png`);
    await fs.writeFile(imgPath, await pngBytes(halfImage(8, 6), 8, 6));
    infos.push({ imgId: i + 1, imgPath, width: 8, height: 6, boxes: [1, 1, 4, 4], labels: [0] });
  }
  ds = { name: 'tiny', classes: ['a'], length: infos.length, info: (i) => infos[i] };
});
after(() => fs.rm(dir, { recursive: true, force: true }));

/** Consumes an epoch, failing with 'hang' if it neither finishes nor fails within ms. */
async function epochWithin(loader: DataLoader, ms: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: the epoch did not settle within ${ms} ms`)), ms);
  });
  const consume = (async () => {
    let n = 0;
    for await (const b of loader.epoch()) n += b.shape[0];
    return n;
  })();
  consume.catch(() => undefined);
  try {
    return await Promise.race([consume, hang]);
  } finally {
    clearTimeout(timer);
  }
}

// The loader's worker pool, to make a worker die mid-job as a crash or a kill would.
type Internals = { workers: Array<Worker | undefined>; startWorkers(): void };

/** Starts the loader's workers and replaces worker w's next postMessage (the first job) with sabotage. */
function sabotageFirstJob(loader: DataLoader, w: number, sabotage: (victim: Worker, post: (msg: unknown) => void) => void): { internals: Internals; victim: Worker } {
  const internals = loader as unknown as Internals;
  internals.startWorkers();
  const victim = internals.workers[w]!;
  const post = Object.getPrototypeOf(victim).postMessage as (msg: unknown) => void;
  victim.postMessage = (() => {
    victim.postMessage = post;
    sabotage(victim, (msg) => post.call(victim, msg));
  }) as Worker['postMessage'];
  return { internals, victim };
}

test('a worker that exits while holding a job rejects the epoch with an Error naming it (no hang), then is respawned', async () => {
  const loader = new DataLoader({ dataset: ds, pipeline: [], batchSize: 2, workers: 1, shuffle: false });
  try {
    // Instead of the first job, tell the worker to shut down: it exits (code 0) with the job unanswered.
    const { internals, victim } = sabotageFirstJob(loader, 0, (_, post) => post('close'));
    await assert.rejects(epochWithin(loader, 15000), (err: Error) => {
      assert.doesNotMatch(err.message, /hang/);
      assert.match(err.message, /tiny: data loader worker 0 exited unexpectedly with code 0 while processing sample\(s\) 0/);
      return true;
    });
    // The dead worker was dropped; the next epoch runs on a fresh one.
    assert.equal(await epochWithin(loader, 15000), 4);
    assert.notEqual(internals.workers[0], victim);
  } finally {
    await loader.close();
  }
});

test('a worker killed mid-epoch (terminate, as a resource-limit kill) rejects its samples, no hang', async () => {
  const loader = new DataLoader({ dataset: ds, pipeline: [], batchSize: 2, workers: 2, shuffle: false, prefetch: 1 });
  try {
    // The job is handed to the worker, but the worker is killed before it can answer.
    sabotageFirstJob(loader, 1, (victim) => void victim.terminate());
    await assert.rejects(epochWithin(loader, 15000), /tiny: data loader worker 1 exited unexpectedly with code \d+ while processing sample\(s\) 1/);
  } finally {
    await loader.close();
  }
});
