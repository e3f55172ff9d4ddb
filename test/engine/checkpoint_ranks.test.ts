/**
 * Checkpoints of distributed runs: every rank's RNG state (`rng_state`, `rng_state.rank<r>`) and
 * the world size; states that disagree with the recorded world size are an Error naming the file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { loadCheckpoint, saveCheckpoint } from '../../src/engine';

const meta = (worldSize?: number) => JSON.stringify({
  format: 'tsvision-checkpoint/1', epoch: 1, iter: 8, innerIter: 0, configName: 'toy/mlp_regression', config: {},
  optimizer: { paramGroups: [{ params: [], lr: 0.1 }], numbers: {} }, schedulers: [], savedAt: '2026-01-01T00:00:00.000Z', worldSize,
});

test('saveCheckpoint stores each rank\'s RNG state; loadCheckpoint returns them by rank and checks them against worldSize', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-ckranks-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const states = [1, 2, 3].map((seed) => {
    torch.manualSeed(seed);
    return torch.getRngState();
  });
  const file = path.join(dir, 'ck.safetensors');
  try {
    saveCheckpoint(file, { epoch: 1, iter: 8, innerIter: 0, configName: 'x', config: {} as never, model: new Map(), optimizer: { state: {}, paramGroups: [] }, schedulers: [], rngStates: states });
    const ck = loadCheckpoint(file);
    assert.equal(ck.meta.worldSize, 3);
    assert.equal(ck.rngStates.length, 3);
    ck.rngStates.forEach((s, r) => assert.deepEqual(Array.from(s.toTypedArray() as Uint8Array), Array.from(states[r].toTypedArray() as Uint8Array), `rank ${r}`));
    assert.equal(ck.rngState, ck.rngStates[0]);
    torch.dispose(ck.rngStates);
    // rank 2's state restored reproduces rank 2's stream
    torch.manualSeed(3);
    const expected = torch.rand([4]).toArray();
    torch.setRngState(states[2]);
    assert.deepEqual(torch.rand([4]).toArray(), expected);
    // disagreeing with the recorded world size
    const bad = (tensors: [string, torch.Tensor][], world: number | undefined, re: RegExp) => {
      const f = path.join(dir, 'bad.safetensors');
      torch.saveSafetensors(f, new Map(tensors), { tsvision: meta(world) });
      assert.throws(() => loadCheckpoint(f), re);
    };
    bad([['rng_state', states[0]], ['rng_state.rank1', states[1]]], undefined, /bad\.safetensors: the RNG states do not match worldSize 1 \(rank 1's is extra\)/);
    bad([['rng_state', states[0]], ['rng_state.rank2', states[2]]], 3, /the RNG states do not match worldSize 3 \(rank 1's is missing\)/);
    bad([['rng_state', states[0]]], 0, /checkpoint metadata 'tsvision.worldSize' is 0: expected an integer >= 1/);
  } finally {
    torch.dispose(states);
  }
});
