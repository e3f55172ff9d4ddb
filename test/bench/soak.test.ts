/**
 * The soak benchmark (bench/soak.ts) in miniature: 30 training iterations of the small
 * Faster R-CNN with validation and a checkpoint, memory sampled every 10 iterations. The
 * samples are written (JSON and CSV) and libtorch's live tensor count does not grow between
 * samples (it is exact; RSS is not, so it is recorded but not asserted).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runSoak, table } from '../../bench/soak';
import * as torch from '../../src/torch';

test('soak: 30 iterations with val and checkpoints; samples written, liveTensors flat', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-soak-'));
  const threads = torch.getNumThreads();
  torch.setNumThreads(1); // as the benchmark: much faster than 2 threads on a loaded 2-core machine
  try {
    const outDir = path.join(dir, 'results');
    const r = await runSoak({
      iters: 30, every: 10, valEvery: 15, ckptEvery: 15, warmup: 10, size: 64, images: 10, batch: 2, workers: 1,
      name: 'soak-test', workDir: path.join(dir, 'work'), outDir, quiet: true,
    });
    assert.deepEqual(r.samples.map((s) => s.iter), [10, 20, 30]);
    const json = JSON.parse(fs.readFileSync(path.join(outDir, 'soak-test.json'), 'utf8'));
    assert.equal(json.samples.length, 3);
    assert.equal(json.config, 'faster_rcnn/faster-rcnn_r18_fpn_shapes');
    for (const s of json.samples) {
      for (const k of ['rssMb', 'heapUsedMb', 'liveTensors']) assert.ok(Number.isFinite(s[k]) && s[k] > 0, `${k}: ${s[k]}`);
      for (const k of ['externalMb', 'arrayBuffersMb', 'rssAnonMb', 'rssFileMb']) assert.ok(Number.isFinite(s[k]) && s[k] >= 0, `${k}: ${s[k]}`);
    }
    const csv = fs.readFileSync(path.join(outDir, 'soak-test.csv'), 'utf8').trim().split('\n');
    assert.equal(csv[0], 'iter,seconds,rssMb,heapUsedMb,heapTotalMb,externalMb,arrayBuffersMb,rssAnonMb,rssFileMb,liveTensors');
    assert.equal(csv.length, 4);
    // validation ran (iteration 15 and 30) and the checkpoints were written, yet no tensor is left over
    const work = path.join(dir, 'work', 'run');
    assert.ok(fs.existsSync(path.join(work, 'iter_30.safetensors')));
    assert.ok(!fs.existsSync(path.join(work, 'iter_15.safetensors')), 'maxKeep 1 prunes the older checkpoint');
    const runDir = fs.readdirSync(work).find((d) => /^\d{8}_\d{6}/.test(d))!;
    const scalars = fs.readFileSync(path.join(work, runDir, 'scalars.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(scalars.filter((x) => x.mode === 'val').map((x) => x.iter), [15, 30]);
    const live = r.samples.map((s) => s.liveTensors);
    assert.deepEqual(live, [live[0], live[0], live[0]], `liveTensors grew: ${live.join(' → ')}`);
    assert.equal(r.growth.liveTensors, 0);
    assert.match(table(r), /\| 30 \| [\d.]+ \| [\d.]+ \/ [\d.]+ \| [\d.]+ \| [\d.]+ \| \d+ \|/);
  } finally {
    torch.setNumThreads(threads);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
