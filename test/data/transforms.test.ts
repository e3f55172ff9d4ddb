import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collate } from '../../src/data/collate';
import { ensureDecoded } from '../../src/data/image';
import { Rng } from '../../src/data/rng';
import { cropSample } from '../../src/data/transforms/crop';
import {
  buildPipeline, Compose, NORMALIZE_CAFFE, NORMALIZE_PYTORCH, Normalize, Pad, paddedImage, PhotoMetricDistortion, RandomCrop, RandomFlip, Resize, rescaleSize,
} from '../../src/data/transforms';
import { polygonsBox } from '../../src/structures/masks';
import { close, halfImage, pendingSample, rawSample } from './helpers';

const rng = () => new Rng(0);

test('rescaleSize follows mmcv (int(x * s + 0.5), min of long/short ratios)', () => {
  assert.deepEqual(rescaleSize(640, 480, [1333, 800]), { width: 1067, height: 800, factor: 800 / 480 });
  assert.deepEqual(rescaleSize(40, 20, [1333, 800]).width, 1333);
  assert.equal(rescaleSize(40, 20, [1333, 800]).height, 667); // 20 * 33.325 = 666.5 -> 667
  assert.deepEqual(rescaleSize(480, 640, [800, 1333]).width, 800); // scale order does not matter
});

// A 40x20 image, one box, one square polygon, three keypoints with pair (1, 2).
function targets() {
  return {
    boxes: new Float32Array([4, 2, 12, 10]),
    labels: new Int32Array([3]),
    masks: { kind: 'polygons' as const, height: 20, width: 40, polygons: [[new Float32Array([4, 2, 12, 2, 12, 10, 4, 10])]] },
    keypoints: new Float32Array([10, 5, 2, 4, 4, 2, 30, 4, 1]),
    numKeypoints: 3,
  };
}

for (const pending of [false, true]) {
  test(`resize (80, 60) + flip + pad 32 on hand-computed values (${pending ? 'lazy decode' : 'decoded'})`, async () => {
    const s = pending ? await pendingSample(halfImage(40, 20), 40, 20, targets()) : rawSample(halfImage(40, 20), 40, 20, targets());
    const pipeline = new Compose([
      new Resize({ scales: [[80, 60]], keepRatio: true }),
      new RandomFlip({ prob: 1, flipPairs: [[1, 2]] }),
      new Pad({ sizeDivisor: 32 }),
    ]);
    await pipeline.apply(s, rng());
    // factor min(80/40, 60/20) = 2 -> 80 x 40; flip x -> 80 - x; pad to 96 x 64.
    assert.deepEqual([s.img.width, s.img.height], [80, 40]);
    assert.deepEqual(s.meta.imgShape, [40, 80]);
    assert.deepEqual(s.meta.padShape, [64, 96]);
    assert.deepEqual(s.meta.scaleFactor, [2, 2]);
    assert.equal(s.meta.flip, true);
    assert.equal(s.meta.flipDirection, 'horizontal');
    assert.deepEqual([...s.targets.boxes!], [56, 4, 72, 20]);
    // keypoints: (10,5)->(20,10)->(60,10); (4,4)->(8,8)->(72,8); (30,4)->(60,8)->(20,8); then 1 <-> 2 swap
    assert.deepEqual([...s.targets.keypoints!], [60, 10, 2, 20, 8, 1, 72, 8, 2]);
    const m = s.targets.masks!;
    assert.equal(m.kind, 'polygons');
    if (m.kind === 'polygons') assert.deepEqual(polygonsBox(m.polygons[0]), [56, 4, 72, 20]); // mask stays on its box
    const img = await ensureDecoded(s);
    // Red was on the left; after the flip the left edge is blue and the right edge red.
    assert.deepEqual([...img.data.subarray(0, 3)], [0, 0, 255]);
    assert.deepEqual([...img.data.subarray((80 - 1) * 3, 80 * 3)], [255, 0, 0]);
  });
}

test('resize keeps ratio on odd sizes and clips boxes; multiscale value mode picks a listed scale', async () => {
  const s = rawSample(halfImage(30, 20), 30, 20, { boxes: new Float32Array([-2, 0, 31, 20]), labels: new Int32Array([0]) });
  await new Resize({ scales: [[45, 45]] }).apply(s, rng()); // factor min(45/30, 45/20) = 1.5 -> 45 x 30
  assert.deepEqual([s.img.width, s.img.height], [45, 30]);
  assert.deepEqual([...s.targets.boxes!], [0, 0, 45, 30]);
  const r = new Resize({ scales: [[100, 50], [200, 60]], multiscaleMode: 'value' });
  for (let i = 0; i < 5; i++) assert.ok([100, 200].includes(r.chooseScale(new Rng(i))[0]));
  const range = new Resize({ scales: [[100, 50], [200, 60]], multiscaleMode: 'range' });
  const [long, short] = range.chooseScale(new Rng(1));
  assert.ok(long >= 100 && long <= 200 && short >= 50 && short <= 60);
});

test('segmentation maps: resized nearest, flipped, padded with 255; bitmap masks follow', async () => {
  const seg = new Uint8Array([0, 1, 2, 3]); // 2 x 2
  const s = rawSample(halfImage(2, 2), 2, 2, {
    segMap: seg,
    masks: { kind: 'bitmaps', height: 2, width: 2, count: 1, data: new Uint8Array([1, 0, 0, 0]) },
  });
  await buildPipeline([{ type: 'Resize', scales: [[4, 4]], keepRatio: false }, { type: 'RandomFlip', prob: 1 }, { type: 'Pad', size: [5, 5] }]).apply(s, rng());
  const want = [1, 1, 0, 0, 255, 1, 1, 0, 0, 255, 3, 3, 2, 2, 255, 3, 3, 2, 2, 255, 255, 255, 255, 255, 255];
  assert.deepEqual([...s.targets.segMap!], want);
  const m = s.targets.masks!;
  assert.ok(m.kind === 'bitmaps');
  assert.deepEqual([...m.data], [0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
});

test('normalize: pytorch-style (RGB) and caffe-style (BGR) presets, CHW output', async () => {
  const px = new Uint8Array([255, 0, 0, 10, 20, 30]); // 2 x 1: red, (10,20,30)
  const a = rawSample(px.slice(), 2, 1);
  await new Normalize(NORMALIZE_PYTORCH).apply(a);
  assert.equal(a.img.layout, 'chw');
  assert.ok(close(a.img.data, [(255 - 123.675) / 58.395, (10 - 123.675) / 58.395, (0 - 116.28) / 57.12, (20 - 116.28) / 57.12, (0 - 103.53) / 57.375, (30 - 103.53) / 57.375]));
  const b = rawSample(px.slice(), 2, 1);
  await new Normalize(NORMALIZE_CAFFE).apply(b);
  assert.equal(b.img.order, 'bgr');
  assert.ok(close(b.img.data, [0 - 103.53, 30 - 103.53, 0 - 116.28, 20 - 116.28, 255 - 123.675, 10 - 123.675]));
});

test('collate writes one padded NCHW buffer with each image where it belongs', async () => {
  const a = rawSample(new Uint8Array([1, 2, 3, 4, 5, 6]), 2, 1);
  const b = rawSample(new Uint8Array([7, 8, 9]), 1, 1);
  await new Normalize({ mean: [0, 0, 0], std: [1, 1, 1], order: 'rgb' }).apply(a);
  await new Normalize({ mean: [0, 0, 0], std: [1, 1, 1], order: 'rgb' }).apply(b);
  new Pad({ size: [2, 2], padValue: -1 }).apply(a);
  new Pad({ size: [2, 2], padValue: -1 }).apply(b);
  const batch = collate([a, b]);
  assert.deepEqual(batch.shape, [2, 3, 2, 2]);
  assert.deepEqual([...batch.inputs], [1, 4, -1, -1, 2, 5, -1, -1, 3, 6, -1, -1, 7, -1, -1, -1, 8, -1, -1, -1, 9, -1, -1, -1]);
  assert.deepEqual(batch.items[1].meta.padShape, [2, 2]);
});

test('random crop: boxes shifted and clipped, empty ones dropped with their masks and labels', async () => {
  const s = rawSample(halfImage(20, 10), 20, 10, {
    boxes: new Float32Array([2, 2, 8, 8, 15, 1, 19, 4]),
    labels: new Int32Array([0, 1]),
    masks: { kind: 'polygons', height: 10, width: 20, polygons: [[new Float32Array([2, 2, 8, 2, 8, 8])], [new Float32Array([15, 1, 19, 1, 19, 4])]] },
  });
  await cropSample(s, 4, 0, 8, 10, [0]);
  assert.deepEqual([s.img.width, s.img.height], [8, 10]);
  assert.deepEqual([...s.targets.boxes!], [0, 2, 4, 8]);
  assert.deepEqual([...s.targets.labels!], [0]);
  const m = s.targets.masks!;
  assert.ok(m.kind === 'polygons' && m.polygons.length === 1);
  assert.deepEqual([...m.polygons[0][0]], [-2, 2, 4, 2, 4, 8]);
  // RandomCrop never returns a crop without boxes by default.
  for (let seed = 0; seed < 5; seed++) {
    const t = rawSample(halfImage(20, 10), 20, 10, { boxes: new Float32Array([0, 0, 3, 3]), labels: new Int32Array([1]) });
    await new RandomCrop({ cropSize: [6, 6] }).apply(t, new Rng(seed));
    assert.equal(t.targets.boxes!.length, 4);
  }
});

test('photometric distortion changes colours, keeps shape and is reproducible from the seed', async () => {
  const run = async (seed: number) => {
    const s = rawSample(halfImage(8, 4), 8, 4);
    await new PhotoMetricDistortion().apply(s, new Rng(seed));
    return [...s.img.data];
  };
  assert.deepEqual(await run(3), await run(3));
  const outs = await Promise.all([0, 1, 2, 3, 4].map(run));
  assert.ok(outs.some((o) => o.join() !== [...halfImage(8, 4)].join()));
  assert.equal(outs[0].length, 8 * 4 * 3);
});

test('fused resize+flip+normalize follows OpenCV bilinear (half-pixel centres, edge clamp)', async () => {
  const { resizeNormalizeChw } = await import('../../src/data/image-kernels');
  const src = new Uint8Array([0, 0, 0, 100, 100, 100]); // 2 x 1 grey ramp
  const unit = { mean: [0, 0, 0], std: [1, 1, 1] };
  const out = resizeNormalizeChw(src, 2, 1, 4, 1, unit);
  assert.deepEqual([...out.subarray(0, 4)], [0, 25, 75, 100]);
  const flipped = resizeNormalizeChw(src, 2, 1, 4, 1, { ...unit, flop: true });
  assert.deepEqual([...flipped.subarray(0, 4)], [100, 75, 25, 0]);
  // A pending image normalized (fused path) equals the decoded one normalized, flip included.
  const lazy = await pendingSample(halfImage(6, 4), 6, 4);
  const eager = rawSample(halfImage(6, 4), 6, 4);
  for (const s of [lazy, eager]) {
    await new RandomFlip({ prob: 1 }).apply(s, rng());
    await new Normalize(NORMALIZE_CAFFE).apply(s);
  }
  assert.equal(lazy.pending, undefined);
  assert.deepEqual([...lazy.img.data], [...eager.img.data]);
});

test('Normalize + Pad fused by Compose equal the two applied one by one (padded planes, collate, flip after)', async () => {
  const r = new Rng(5);
  const px = Uint8Array.from({ length: 40 * 20 * 3 }, () => r.int(0, 255));
  const steps = () => [new Resize({ scales: [[50, 30]], keepRatio: true }), new RandomFlip({ prob: 1 }), new Normalize(NORMALIZE_PYTORCH), new Pad({ sizeDivisor: 16, padValue: -2 })];
  const fused = await new Compose(steps()).apply(await pendingSample(px, 40, 20), rng());
  let apart = await pendingSample(px, 40, 20);
  const r2 = rng();
  for (const t of steps()) apart = await t.apply(apart, r2);
  // 40x20 -> 50x25, padded to 64x32: the fused step wrote the padded planes, the other did not.
  assert.deepEqual(fused.img.planeShape, [32, 64]);
  assert.equal(fused.img.data.length, 3 * 32 * 64);
  assert.equal(apart.img.planeShape, undefined);
  assert.deepEqual(fused.meta, apart.meta);
  assert.deepEqual([...paddedImage(fused)], [...paddedImage(apart)]);
  const one = collate([fused]);
  assert.equal(one.inputs, fused.img.data); // a lone padded image is the batch, not a copy
  assert.deepEqual([...one.inputs], [...collate([apart]).inputs]);
  const both = collate([fused, apart]);
  assert.deepEqual([...both.inputs.subarray(0, 3 * 32 * 64)], [...both.inputs.subarray(3 * 32 * 64)]);
  // A flip after Normalize (CHW) mirrors the image region only, padded planes or not.
  for (const s of [fused, apart]) await new RandomFlip({ prob: 1 }).apply(s, rng());
  assert.deepEqual([...paddedImage(fused)], [...paddedImage(apart)]);
});
