/** The detection task's glue: Fast R-CNN proposal files, and COCO results from detections. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { batchProposals, loadProposals } from '../../src/tasks/detection/task';
import { toCocoResults } from '../../src/tasks/detection/data';
import type { Batch } from '../../src/data/collate';

function meta(imgId: number, flip: boolean): Batch['items'][number]['meta'] {
  return { imgId, imgPath: `${imgId}.jpg`, oriShape: [100, 200], imgShape: [50, 100], padShape: [64, 128], scaleFactor: [0.5, 0.5], flip, flipDirection: flip ? 'horizontal' : null };
}

test('proposal files: sorted by score per image, mapped into the resized and flipped image', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsv-props-'));
  try {
    const file = path.join(dir, 'props.json');
    fs.writeFileSync(file, JSON.stringify([
      { image_id: 1, bbox: [10, 20, 30, 40], score: 0.2 },
      { image_id: 1, bbox: [0, 0, 100, 50], score: 0.9 },
      { image_id: 2, bbox: [20, 10, 40, 20], score: 0.5 },
    ]));
    const index = loadProposals(file);
    assert.deepEqual(Array.from(index.get(1)!), [0, 0, 100, 50, 10, 20, 40, 60]);
    const batch = { inputs: new Float32Array(0), shape: [2, 3, 64, 128], items: [{ meta: meta(1, false), targets: {} }, { meta: meta(2, true), targets: {} }] } as unknown as Batch;
    torch.tidy(() => {
      const [a, b] = batchProposals(batch, index);
      assert.deepEqual(a.tolist(), [[0, 0, 50, 25], [5, 10, 20, 30]]);
      // image 2 scaled by 0.5 → [10, 5, 30, 15], then flipped in a 100-wide image
      assert.deepEqual(b.tolist(), [[70, 5, 90, 15]]);
    });
    fs.writeFileSync(file, JSON.stringify([{ image_id: 1, bbox: [1, 2, 3] }]));
    assert.throws(() => loadProposals(file), /props\.json: proposal 0: expected \{image_id: number, bbox: \[x, y, w, h\], score\}/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('detections become COCO results with the dataset category ids and xywh boxes', () => {
  torch.tidy(() => {
    const dets = [{ boxes: torch.tensor([[10, 20, 30, 60]]), scores: torch.tensor([0.75]), labels: torch.tensor([1], { dtype: 'int64' }) }];
    const r = toCocoResults(dets, [{ meta: meta(7, false) }], [3, 8]);
    assert.deepEqual(r, [{ image_id: 7, category_id: 8, bbox: [10, 20, 20, 40], score: 0.75 }]);
    assert.throws(() => toCocoResults(dets, [{ meta: meta(7, false) }], [3]), /label 1 has no category id/);
  });
});
