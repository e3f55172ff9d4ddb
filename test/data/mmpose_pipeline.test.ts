/**
 * MMPose 1.3's top-down pipeline, step for step: GetBBoxCenterScale, RandomFlip, RandomHalfBody,
 * RandomBBoxTransform (with the draws mmpose made injected), TopdownAffine (get_warp_matrix /
 * get_udp_warp_matrix and cv2.warpAffine INTER_LINEAR). Fixtures written by mmpose:
 * scripts/reference/mmpose_pipeline_fixtures.py -> test/fixtures/mmpose-pipeline/.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Rng } from '../../src/data/rng';
import type { Sample } from '../../src/data/sample';
import { GenerateTarget, GetBBoxCenterScale, TopdownAffine, type KeypointEncoder } from '../../src/data/transforms/topdown';
import {
  COCO_FLIP_INDICES, COCO_LOWER_BODY_IDS, COCO_UPPER_BODY_IDS, RandomBBoxTransform, RandomHalfBody, TopdownRandomFlip, truncatedNormal,
} from '../../src/data/transforms/topdown-random';
import { getAffineTransform, numpySinCosF32, warpAffineLinear } from '../../src/data/transforms/warp-affine';
import { buildPipeline } from '../../src/data/transforms';
import { repoRoot } from '../helpers/paths';

const DIR = path.join(repoRoot, 'test', 'fixtures', 'mmpose-pipeline');

interface Step {
  type: string;
  options: Record<string, unknown>;
  bboxCenter: number[];
  bboxScale: number[];
  bboxRotation?: number;
  draws?: { direction?: string | null; halfBodyIds?: Array<number[] | null>; offset?: number[]; scale?: number; rotate?: number };
  keypoints?: number[];
  keypointsVisible?: number[];
  bbox?: number[];
  warpMatrix?: number[];
  transformedKeypoints?: number[];
  warped?: string;
}
interface Case { name: string; image: string; bbox: number[]; keypoints: number[]; steps: Step[] }
interface Fixture {
  images: Record<string, { file: string; width: number; height: number }>;
  flipIndices: number[]; upperBodyIds: number[]; lowerBodyIds: number[];
  cases: Case[];
}

const fixture: Fixture = JSON.parse(fs.readFileSync(path.join(DIR, 'pipeline.json'), 'utf8'));

function sampleOf(c: Case): Sample {
  const im = fixture.images[c.image];
  const data = new Uint8Array(fs.readFileSync(path.join(DIR, im.file)));
  return {
    img: { data, width: im.width, height: im.height, channels: 3, layout: 'hwc', order: 'bgr' },
    meta: {
      imgId: 0, imgPath: `${c.name}:${c.image}`, oriShape: [im.height, im.width], imgShape: [im.height, im.width],
      padShape: [im.height, im.width], scaleFactor: [1, 1], flip: false, flipDirection: null,
    },
    targets: { boxes: Float32Array.from(c.bbox), labels: Int32Array.of(0), keypoints: Float32Array.from(c.keypoints), numKeypoints: 17 },
  };
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Runs one mmpose step on `s` with mmpose's draws; returns what the step's checks need. */
async function runStep(s: Sample, step: Step): Promise<{ matrix?: number[] }> {
  const o = step.options as Record<string, number & number[] & boolean>;
  switch (step.type) {
    case 'GetBBoxCenterScale': new GetBBoxCenterScale({ padding: o.padding }).apply(s); return {};
    case 'RandomFlip': {
      await new TopdownRandomFlip({ prob: o.prob, flipIndices: fixture.flipIndices }).applyDraws(s, { flip: step.draws!.direction === 'horizontal' });
      return {};
    }
    case 'RandomHalfBody': {
      const t = new RandomHalfBody({
        minTotalKeypoints: o.min_total_keypoints, minUpperKeypoints: o.min_upper_keypoints, minLowerKeypoints: o.min_lower_keypoints,
        padding: o.padding, prob: o.prob, upperBodyIds: fixture.upperBodyIds, lowerBodyIds: fixture.lowerBodyIds,
      });
      t.applyDraws(s, { halfBodyIds: step.draws!.halfBodyIds![0] });
      return {};
    }
    case 'RandomBBoxTransform': {
      const d = step.draws!;
      new RandomBBoxTransform({}).applyDraws(s, { offset: [d.offset![0], d.offset![1]], scale: d.scale!, rotate: d.rotate! });
      return {};
    }
    case 'TopdownAffine': {
      const t = new TopdownAffine({ inputSize: o.input_size as unknown as [number, number], useUdp: Boolean(o.use_udp) });
      await t.apply(s);
      return { matrix: t.warpMatrix(s.pose!.center, s.pose!.scale, s.pose!.rotation) };
    }
    default: throw new Error(`unknown step ${step.type}`);
  }
}

test('the fixture holds MMPose COCO meta and every kind of case', () => {
  assert.deepEqual(fixture.flipIndices, COCO_FLIP_INDICES);
  assert.deepEqual(fixture.upperBodyIds, COCO_UPPER_BODY_IDS);
  assert.deepEqual(fixture.lowerBodyIds, COCO_LOWER_BODY_IDS);
  const draws = fixture.cases.flatMap((c) => c.steps.filter((s) => s.draws));
  assert.ok(draws.some((s) => s.type === 'RandomFlip' && s.draws!.direction === 'horizontal'));
  assert.ok(draws.some((s) => s.type === 'RandomHalfBody' && s.draws!.halfBodyIds![0] !== null));
  assert.ok(draws.some((s) => s.type === 'RandomBBoxTransform' && s.draws!.rotate !== 0 && s.draws!.offset![0] !== 0));
  assert.ok(fixture.cases.some((c) => c.steps.some((s) => s.type === 'TopdownAffine' && s.options.use_udp)));
});

const stats = { centre: 0, scale: 0, keypoints: 0, matrix: 0, pixels: 0, differing: 0, maxGrey: 0 };

for (const c of fixture.cases) {
  test(`mmpose pipeline ${c.name}: ${c.steps.map((s) => s.type).join(' > ')}`, async () => {
    const s = sampleOf(c);
    for (const step of c.steps) {
      const what = `${c.name} after ${step.type}`;
      const { matrix } = await runStep(s, step);
      const dc = maxAbs(s.pose!.center, step.bboxCenter), ds = maxAbs(s.pose!.scale, step.bboxScale);
      stats.centre = Math.max(stats.centre, dc); stats.scale = Math.max(stats.scale, ds);
      assert.ok(dc <= 1e-4, `${what}: centre ${s.pose!.center} vs mmpose ${step.bboxCenter}`);
      assert.ok(ds <= 1e-4, `${what}: scale ${s.pose!.scale} vs mmpose ${step.bboxScale}`);
      if (step.bboxRotation !== undefined) assert.ok(Math.abs(s.pose!.rotation - step.bboxRotation) <= 1e-6, `${what}: rotation`);
      const kps = s.targets.keypoints!;
      const xy = (k: Float32Array) => Array.from({ length: 34 }, (_, i) => k[3 * (i >> 1) + (i & 1)]);
      const vis = (k: Float32Array) => Array.from({ length: 17 }, (_, j) => Math.min(1, k[3 * j + 2]));
      if (step.type === 'RandomFlip') {
        assert.ok(maxAbs(xy(kps), step.keypoints!) <= 1e-4, `${what}: keypoints`);
        assert.deepEqual(vis(kps), step.keypointsVisible, `${what}: visibility`);
        assert.ok(maxAbs(s.targets.boxes!, step.bbox!) <= 1e-4, `${what}: bbox ${s.targets.boxes} vs ${step.bbox}`);
      }
      if (step.type === 'TopdownAffine') {
        const dm = maxAbs(matrix!, step.warpMatrix!);
        stats.matrix = Math.max(stats.matrix, dm);
        assert.ok(dm <= 1e-9, `${what}: warp matrix ${matrix} vs mmpose ${step.warpMatrix}`);
        const dk = maxAbs(xy(kps), step.transformedKeypoints!);
        stats.keypoints = Math.max(stats.keypoints, dk);
        assert.ok(dk <= 1e-4, `${what}: transformed keypoints differ by ${dk} px`);
        assert.deepEqual(vis(kps), step.keypointsVisible, `${what}: visibility`);
        const ref = fs.readFileSync(path.join(DIR, step.warped!));
        const ours = s.img.data as Uint8Array;
        assert.equal(ours.length, ref.length, `${what}: warped size`);
        let differing = 0, maxGrey = 0;
        for (let i = 0; i < ref.length; i++) {
          const d = Math.abs(ours[i] - ref[i]);
          if (d) { differing++; maxGrey = Math.max(maxGrey, d); }
        }
        stats.pixels += ref.length; stats.differing += differing; stats.maxGrey = Math.max(stats.maxGrey, maxGrey);
        assert.equal(differing, 0, `${what}: ${differing} of ${ref.length} warped bytes differ from cv2.warpAffine (max ${maxGrey} grey levels)`);
      }
    }
  });
}

test('parity summary (largest differences over all cases)', () => {
  // Printed for the record; the per-case tests above hold the bounds.
  console.log(`mmpose pipeline parity: centre ${stats.centre}, scale ${stats.scale}, keypoints ${stats.keypoints} px, `
    + `matrix ${stats.matrix}, warped bytes differing ${stats.differing}/${stats.pixels} (max ${stats.maxGrey})`);
  assert.ok(stats.pixels > 0);
});

test("numpy's float32 sin/cos reproduced bit for bit (get_warp_matrix's rotation)", () => {
  const t: { x: number[]; sin: number[]; cos: number[] } = JSON.parse(fs.readFileSync(path.join(DIR, 'trig.json'), 'utf8'));
  let bad = 0, correctlyRoundedDiffer = 0;
  t.x.forEach((x, i) => {
    if (numpySinCosF32(x, false) !== t.sin[i] || numpySinCosF32(x, true) !== t.cos[i]) bad++;
    if (Math.fround(Math.cos(x)) !== t.cos[i]) correctlyRoundedDiffer++;
  });
  assert.equal(bad, 0, `${bad} of ${t.x.length} angles differ from numpy`);
  // Why it matters: numpy's values are not the correctly rounded ones.
  assert.ok(correctlyRoundedDiffer > 0);
});

test('getAffineTransform maps its three points; warpAffineLinear with the identity copies the image', () => {
  const m = getAffineTransform([0, 0, 10, 0, 0, 10], [5, 7, 25, 7, 5, 27]);
  assert.ok(maxAbs(m, [2, 0, 5, 0, 2, 7]) < 1e-12);
  const img = Uint8Array.from({ length: 5 * 4 * 3 }, (_, i) => (i * 37) % 256);
  assert.deepEqual(warpAffineLinear(img, 5, 4, 3, [1, 0, 0, 0, 1, 0], 5, 4), img);
  // Half a pixel to the right: the mean of neighbours (rounded half up), zero coming in at the left.
  const row = Uint8Array.of(10, 20, 31, 40);
  assert.deepEqual([...warpAffineLinear(row, 4, 1, 1, [1, 0, 0.5, 0, 1, 0], 4, 1)], [5, 15, 26, 36]);
});

test('random draws: truncated normal within [-1, 1]; probabilities 0 and 1 gate; errors name the option', () => {
  const rng = new Rng(3);
  const v = Array.from({ length: 2000 }, () => truncatedNormal(rng));
  assert.ok(v.every((x) => x >= -1 && x <= 1));
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  assert.ok(Math.abs(mean) < 0.05, `mean ${mean}`);
  // scipy's truncnorm(-1, 1) has standard deviation 0.5377.
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  assert.ok(Math.abs(sd - 0.5377) < 0.03, `sd ${sd}`);
  // The gates fire at their probabilities (MMPose's defaults: shift 0.3, rotation 0.6).
  const t = new RandomBBoxTransform({});
  const draws = Array.from({ length: 4000 }, () => t.draw(rng));
  const shifted = draws.filter((d) => d.offset[0] !== 0).length / draws.length;
  const rotated = draws.filter((d) => d.rotate !== 0).length / draws.length;
  assert.ok(Math.abs(shifted - 0.3) < 0.03 && Math.abs(rotated - 0.6) < 0.03, `shift ${shifted}, rotate ${rotated}`);
  const flips = Array.from({ length: 4000 }, () => new TopdownRandomFlip({ prob: 0.5 }).draw(rng).flip).filter(Boolean).length / 4000;
  assert.ok(Math.abs(flips - 0.5) < 0.03, `flip ${flips}`);
  const none = new RandomBBoxTransform({ shiftProb: 0, scaleProb: 0, rotateProb: 0 }).draw(rng);
  assert.deepEqual(none, { offset: [0, 0], scale: 1, rotate: 0 });
  const all = new RandomBBoxTransform({ shiftProb: 1, scaleProb: 1, rotateProb: 1, scaleFactor: [0.5, 1.5], rotateFactor: 80, shiftFactor: 0.16 }).draw(rng);
  assert.ok(all.scale >= 0.5 && all.scale <= 1.5 && Math.abs(all.rotate) <= 80 && Math.abs(all.offset[0]) <= 0.16 && all.rotate !== 0);
  assert.throws(() => new RandomBBoxTransform({ rotateProb: 2 }), /RandomBBoxTransform\.rotateProb/);
  assert.throws(() => new TopdownAffine({ inputSize: [192, 0] }), /TopdownAffine\.inputSize/);
  assert.throws(() => new TopdownRandomFlip({ flipIndices: [1, 2, 0] }), /TopdownRandomFlip\.flipIndices/);
});

test('RandomHalfBody draws: too few keypoints never draws; prob 1 picks the half that qualifies', () => {
  const c = fixture.cases.find((x) => x.name === 'wide_plain')!;
  const s = sampleOf(c);
  const t = new RandomHalfBody({ prob: 1, upperPrioritizedProb: 0 });
  // upperPrioritizedProb 0: the lower body whenever both halves qualify.
  assert.deepEqual(t.draw(s, new Rng(1)).halfBodyIds, COCO_LOWER_BODY_IDS.filter((i) => s.targets.keypoints![3 * i + 2] > 0));
  const few = sampleOf(c);
  for (let j = 3; j < 17; j++) few.targets.keypoints![3 * j + 2] = 0;
  assert.equal(new RandomHalfBody({ prob: 1 }).draw(few, new Rng(1)).halfBodyIds, null);
});

test('a whole training pipeline from specs runs with its own draws; GenerateTarget hands the encoder min(1, v)', async () => {
  const c = fixture.cases.find((x) => x.name === 'small_flip')!;
  let seen: { xy: Float32Array; vis: Float32Array; k: number } | undefined;
  const encoder: KeypointEncoder = {
    encode(xy, vis, k) {
      seen = { xy: xy.slice(), vis: vis.slice(), k };
      return { heatmaps: new Float32Array(k * 4 * 3), heatmapSize: [3, 4], keypointWeights: vis.slice() };
    },
  };
  assert.throws(() => buildPipeline([{ type: 'GenerateTarget', encoder: { type: 'MSRAHeatmap' } }]), /GenerateTarget \(encoder 'MSRAHeatmap'\) needs a keypoint encoder builder/);
  const pipeline = buildPipeline([
    { type: 'GetBBoxCenterScale' }, { type: 'TopdownRandomFlip', prob: 0.5 }, { type: 'RandomHalfBody' },
    { type: 'RandomBBoxTransform', rotateProb: 0.5 }, { type: 'TopdownAffine', inputSize: [48, 64] },
    { type: 'GenerateTarget', encoder: { type: 'Stand-in' }, useDatasetKeypointWeights: true, datasetKeypointWeights: Array(17).fill(2) },
  ], { buildKeypointEncoder: (spec) => (assert.equal(spec.type, 'Stand-in'), encoder) });
  const s = await pipeline.apply(sampleOf(c), new Rng(7));
  assert.deepEqual([s.img.width, s.img.height], [48, 64]);
  assert.equal(seen!.k, 17);
  const kps = s.targets.keypoints!;
  for (let j = 0; j < 17; j++) {
    assert.equal(seen!.vis[j], Math.min(1, kps[3 * j + 2]));
    assert.equal(seen!.xy[2 * j], kps[3 * j]);
    assert.equal(s.pose!.targetWeights[j], 2 * seen!.vis[j]);
  }
  assert.deepEqual(s.pose!.heatmapSize, [3, 4]);
  assert.deepEqual(s.pose!.inputSize, [48, 64]);
});
