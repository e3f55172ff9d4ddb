/**
 * Mask R-CNN and Fast R-CNN with masks against MMDetection 3.3 itself, on checkpoints MMDetection
 * wrote (scripts/reference/mmdet_fixtures.py; tiny widths, mask head at the neck's width):
 *  - strict load, then inference on both fixture images (img_800x1216 unresized, img_480x640
 *    resized to 800x1067 by the test pipeline): ≥ 99% of MMDetection's detections reproduced
 *    (same COCO category id, box IoU ≥ 0.99, |Δscore| ≤ 1e-3) and every matched detection's
 *    pasted mask (original image size) at mask IoU ≥ 0.98 with MMDetection's;
 *  - one training step's losses (rpn, cls, bbox, mask) on MMDetection's batch with the same gt
 *    masks (compressed RLE in the fixture) and the fixture's deterministic sampler: 1e-4 relative.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { categoriesOf, loadDetector, prepareImage } from '../../src/apis/detection';
import { masksToRles, toDetBatch } from '../../src/tasks/detection/data';
import type { DetectionConfig } from '../../src/tasks/detection/task';
import type { TwoStageDetector } from '../../src/models/detectors/two_stage';
import { decodeMask, rleFromJson, rleIou } from '../../src/evaluation/coco/mask';
import { config as maskCfg } from '../../configs/mask_rcnn/mask-rcnn_r50_fpn_1x_coco';
import { config as fastMaskCfg } from '../../configs/fast_rcnn/fast-mask-rcnn_r50_fpn_1x_coco';
import { repoRoot } from '../helpers/paths';
import { atFixtureWidths, decodeUint8, matchDetections, mmdetBatch, readJson, tensorOf, withStridedSampler, type Manifest, type RefImage, type RefLoss } from '../helpers/mmdet';

const CONFIGS: Record<string, DetectionConfig> = {
  'mask-rcnn_r50_fpn_1x_coco': maskCfg,
  'fast-mask-rcnn_r50_fpn_1x_coco': fastMaskCfg,
};
const DIR = process.env.TSVISION_MMDET_FIXTURES ?? path.join(repoRoot, 'test/fixtures/mmdet');
const MIN_MATCH = 0.99;
const MIN_MASK_IOU = 0.98;

const manifestFile = path.join(DIR, 'manifest.json');
const man = fs.existsSync(manifestFile) ? readJson<Manifest>(manifestFile) : null;
const skipOf = (name: string) => (man?.models[name] ? false : `no MMDetection fixture for ${name} in ${path.relative(repoRoot, DIR)} (scripts/reference/make-mmdet-fixtures.sh)`);

function configOf(name: string): DetectionConfig {
  const base = CONFIGS[name];
  return { ...base, model: atFixtureWidths(base.model, man!) };
}

async function inferenceCase(name: string, imgName: string): Promise<void> {
  const cfg = configOf(name);
  const r = readJson<{ images: Record<string, RefImage> }>(path.join(DIR, 'inference', `${name}.json`)).images[imgName];
  assert.ok(r.masks && r.masks.length === r.scores.length, `${name}: the fixture has no masks for ${imgName}`);
  const d = loadDetector(cfg, path.join(DIR, man!.models[name].checkpoint)); // strict
  const catIds = categoriesOf(cfg).ids;
  try {
    const batch = await prepareImage(cfg, path.join(DIR, r.image));
    const det = torch.tidy(() => {
      const input = toDetBatch(batch);
      if (r.roi_head_proposals) input.proposals = [tensorOf(r.roi_head_proposals.bboxes)];
      return (d.model as TwoStageDetector).predict(input)[0];
    });
    let ourRles: ReturnType<typeof masksToRles>;
    let ours: { boxes: Float32Array; scores: Float32Array; cats: number[] };
    try {
      assert.ok(det.masks, `${name}: no masks predicted`);
      const [, oh, ow] = det.masks.shape;
      const [rh, rw] = r.masks[0].size;
      assert.deepEqual([oh, ow], [rh, rw], `${name}: masks pasted at ${oh}x${ow}, MMDetection's at ${rh}x${rw}`);
      ourRles = masksToRles(det.masks);
      ours = {
        boxes: det.boxes.toTypedArray() as Float32Array,
        scores: det.scores.toTypedArray() as Float32Array,
        cats: det.labels.toArray().map((l) => catIds[l]),
      };
    } finally {
      torch.dispose(det);
    }
    const pairs = matchDetections(ours, r);
    let n = 0, minBoxIou = 1, maxDScore = 0, minMaskIou = 1, worst = -1;
    pairs.forEach((j, k) => {
      if (j < 0) return;
      n++;
      const b = ours.boxes.subarray(4 * j, 4 * j + 4);
      const rb = r.bboxes[k];
      const iw = Math.max(0, Math.min(b[2], rb[2]) - Math.max(b[0], rb[0])), ih = Math.max(0, Math.min(b[3], rb[3]) - Math.max(b[1], rb[1]));
      minBoxIou = Math.min(minBoxIou, (iw * ih) / ((b[2] - b[0]) * (b[3] - b[1]) + (rb[2] - rb[0]) * (rb[3] - rb[1]) - iw * ih));
      maxDScore = Math.max(maxDScore, Math.abs(ours.scores[j] - r.scores[k]));
      const a = rleFromJson(ourRles[j]);
      const g = rleFromJson(r.masks![k]);
      // both empty: identical
      const m = decodeMask(a).some((v) => v) || decodeMask(g).some((v) => v) ? rleIou([a], [g], [0])[0] : 1;
      if (m < minMaskIou) [minMaskIou, worst] = [m, k];
    });
    console.log(`# ${name} on ${imgName}: ${n} of ${r.scores.length} reproduced (ours ${ours.scores.length}); min box IoU ${minBoxIou.toFixed(5)}, max |dscore| ${maxDScore.toExponential(2)}, min mask IoU ${minMaskIou.toFixed(5)}`);
    assert.ok(n >= Math.ceil(MIN_MATCH * r.scores.length), `${name} on ${imgName}: ${n} of ${r.scores.length} detections reproduced`);
    assert.ok(minMaskIou >= MIN_MASK_IOU, `${name} on ${imgName}: reference detection ${worst}'s mask at IoU ${minMaskIou} with ours`);
  } finally {
    d.model.dispose?.();
  }
}

async function lossCase(name: string): Promise<void> {
  const base = configOf(name);
  const cfg: DetectionConfig = { ...base, model: withStridedSampler(base.model) };
  const ref = readJson<RefLoss>(path.join(DIR, 'losses', `${name}.json`));
  const d = loadDetector(cfg, path.join(DIR, man!.models[name].checkpoint));
  const model = d.model as TwoStageDetector;
  model.train();
  const images = await Promise.all(ref.batch.images.map((im) => decodeUint8(path.join(DIR, im.image))));
  try {
    const losses = torch.noGrad(() => torch.tidy(() => {
      const batch = mmdetBatch(images, cfg.model.dataPreprocessor);
      const [, , ph, pw] = batch.images.shape;
      batch.targets = ref.batch.images.map((im) => {
        assert.ok(im.gt_masks, `${name}: the fixture batch has no gt masks`);
        // gt masks of the image, zero-padded to the batch (MMDetection's pad_mask)
        const masks = im.gt_masks.map((j) => {
          const [h, w] = j.size;
          const col = decodeMask(rleFromJson(j));
          return torch.F.pad(torch.fromTypedArray(col, [w, h]).t(), [0, pw - w, 0, ph - h]);
        });
        return { boxes: tensorOf(im.gt_bboxes), labels: torch.tensor(im.gt_labels, { dtype: 'int64' }), masks: torch.stack(masks) };
      });
      if (ref.roi_head_proposals && cfg.model.type === 'FastRCNN') batch.proposals = ref.roi_head_proposals.map((p) => tensorOf(p.bboxes));
      const out = model.loss(batch);
      return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.item() as number]));
    }));
    assert.ok('loss_mask' in ref.losses, `${name}: the fixture has no loss_mask`);
    for (const [key, v] of Object.entries(ref.losses)) {
      if (key === 'acc') continue;
      const want = typeof v === 'number' ? v : v.sum;
      const got = losses[key];
      assert.ok(got !== undefined, `${name}: no ${key} among our losses (${Object.keys(losses).join(', ')})`);
      const rel = Math.abs(got - want) / Math.max(Math.abs(want), 1e-12);
      console.log(`# ${name} ${key}: ours ${got} mmdet ${want} (rel ${rel.toExponential(2)})`);
      assert.ok(rel <= 1e-4, `${name} ${key}: ${got} vs MMDetection's ${want} (relative ${rel})`);
    }
  } finally {
    torch.dispose(images);
    model.dispose?.();
  }
}

for (const name of Object.keys(CONFIGS)) {
  const skip = skipOf(name);
  for (const imgName of ['img_800x1216', 'img_480x640']) {
    test(`mmdet mask parity: ${name} loads strictly, detections and masks on ${imgName}`, { skip }, async () => {
      await inferenceCase(name, imgName);
    });
  }
  test(`mmdet mask parity: ${name} one training step's losses (incl. loss_mask) equal MMDetection's`, { skip }, async () => {
    await lossCase(name);
  });
}
