import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collate } from '../../src/data/collate';
import { Normalize } from '../../src/data/transforms';
import { halfImage, rawSample } from './helpers';

test('batchToTensors: one NCHW float32 input, [N,4] boxes, int64 labels', async (t) => {
  let mod: typeof import('../../src/data/to-tensors');
  try {
    mod = await import('../../src/data/to-tensors');
  } catch (err) {
    t.skip(`tensor engine not loadable here: ${(err as Error).message.split('\n')[0]}`);
    return;
  }
  const s = rawSample(halfImage(4, 2), 4, 2, { boxes: new Float32Array([0, 0, 2, 2, 1, 1, 3, 2]), labels: new Int32Array([1, 3]) });
  await new Normalize({ mean: [0, 0, 0], std: [1, 1, 1], order: 'rgb' }).apply(s);
  const batch = mod.batchToTensors(collate([s]));
  assert.deepEqual(batch.inputs.shape, [1, 3, 2, 4]);
  assert.equal(batch.inputs.dtype, 'float32');
  assert.deepEqual(batch.targets[0].boxes.shape, [2, 4]);
  assert.equal(batch.targets[0].labels.dtype, 'int64');
  assert.deepEqual(batch.metas[0].imgShape, [2, 4]);
});
