/**
 * Every shipped detection config builds its model, runs one training iteration (loss,
 * backward, SGD step) and one inference on a shrunk input (2 images of 96×128).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch';
import { listConfigNames, loadConfig } from '../../src/config';
import { buildDetector, numClassesOf } from '../../src/models/detectors/build';
import type { DetectionConfig } from '../../src/tasks/detection/task';
import type { DetBatch } from '../../src/models/detectors/types';
import { SGD } from '../../src/optim';

const DETECTION_TYPES = new Set(['FasterRCNN', 'FastRCNN', 'RPN', 'MaskRCNN', 'RetinaNet']);

/** A filled rectangle [96, 128] uint8. */
function rectMask(x1: number, y1: number, x2: number, y2: number) {
  return torch.tidy(() => torch.F.pad(torch.ones([y2 - y1, x2 - x1], { dtype: 'uint8' }), [x1, 128 - x2, y1, 96 - y2]));
}

function tinyBatch(numClasses: number): DetBatch {
  const metas = [0, 1].map(() => ({ oriShape: [96, 128] as [number, number], imgShape: [96, 120] as [number, number], scaleFactor: [1, 1] as [number, number] }));
  const targets = [0, 1].map((i) => ({
    boxes: torch.tensor([[10, 12, 60, 70], [50 + i, 30, 110, 90]]),
    labels: torch.tensor([0, Math.min(1, numClasses - 1)], { dtype: 'int64' }),
    masks: torch.stack([rectMask(10, 12, 60, 70), rectMask(50 + i, 30, 110, 90)]),
  }));
  const proposals = [0, 1].map(() => torch.tensor([[8, 10, 62, 72], [48, 28, 112, 88], [0, 0, 40, 40], [20, 20, 100, 90]]));
  return { images: torch.randn([2, 3, 96, 128]), metas, targets, proposals };
}

const names = listConfigNames().filter((n) => !n.startsWith('toy/'));

test('there are detection configs for every MMDetection row of the seeds', () => {
  for (const fam of ['rpn/rpn', 'faster_rcnn/faster-rcnn', 'fast_rcnn/fast-rcnn', 'mask_rcnn/mask-rcnn']) {
    for (const v of ['_r50_fpn_1x_coco', '_r50_fpn_2x_coco', '_r50-caffe_fpn_1x_coco', '_r101_fpn_1x_coco']) {
      assert.ok(names.includes(fam + v), `missing config ${fam}${v}`);
    }
  }
  for (const v of ['r50_fpn_1x', 'r50_fpn_2x', 'r101_fpn_1x', 'r101_fpn_2x']) {
    assert.ok(names.includes(`retinanet/retinanet_${v}_coco`), `missing config retinanet/retinanet_${v}_coco`);
  }
});

for (const name of names) {
  test(`config ${name}: one training iteration and one inference`, () => {
    const { config } = loadConfig(name);
    const cfg = config as DetectionConfig;
    if (!DETECTION_TYPES.has(cfg.model?.type)) return;
    // the config must survive the JSON round trip that dumping/overriding implies
    assert.deepEqual(JSON.parse(JSON.stringify(cfg)), JSON.parse(JSON.stringify(config)));
    torch.manualSeed(0);
    const model = buildDetector(cfg.model);
    try {
      const numClasses = numClassesOf(cfg.model);
      torch.tidy(() => {
        const batch = tinyBatch(numClasses);
        model.train();
        const params = [...model.parameters()].filter((p) => p.requiresGrad);
        const opt = new SGD(params, { lr: 0.001, momentum: 0.9 });
        const losses = model.loss(batch);
        const keys = Object.keys(losses).filter((k) => k.includes('loss'));
        assert.ok(keys.length >= 2, `${name}: loss terms ${Object.keys(losses)}`);
        const total = keys.map((k) => losses[k]).reduce((a, b) => a.add(b));
        assert.ok(Number.isFinite(total.item()), `${name}: loss ${total.item()}`);
        total.backward();
        opt.step();
        model.eval();
        const dets = model.predict(batch);
        assert.equal(dets.length, 2);
        for (const d of dets) {
          assert.equal(d.boxes.size(1), 4);
          assert.equal(d.boxes.size(0), d.scores.size(0));
          assert.equal(d.labels.size(0), d.scores.size(0));
          if (cfg.model.type !== 'RetinaNet' && cfg.model.roiHead?.maskHead) {
            assert.ok(d.masks, `${name}: no masks predicted`);
            assert.deepEqual(d.masks.shape, [d.scores.size(0), 96, 128]);
            // torchvision's paste returns probabilities, mmdet's thresholded masks
            assert.equal(d.masks.dtype, cfg.model.roiHead.maskHead.paste === 'torchvision' ? 'float32' : 'bool');
          }
        }
      });
    } finally {
      model.dispose();
    }
  });
}
