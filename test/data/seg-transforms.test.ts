/**
 * mmseg's pipeline on label maps, against hand-derived values and OpenCV's (cv2.resize
 * INTER_NEAREST, which mmcv's imresize/imrescale 'nearest' calls for seg maps):
 * RandomResize, Resize, RandomCrop with cat_max_ratio, RandomFlip, Pad, PhotoMetricDistortion.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/data/rng';
import { buildPipeline, Pad, PhotoMetricDistortion, RandomCrop, RandomFlip, RandomResize, Resize } from '../../src/data/transforms';
import { dominated } from '../../src/data/transforms/crop';
import { resizeNearestCv2 } from '../../src/data/transforms/geometry';
import { halfImage, rawSample } from './helpers';

/** An h x w map holding 0, 1, 2, ... row-major (a 4 x 8 map: cv2's test input below). */
const arange = (h: number, w: number) => Uint8Array.from({ length: h * w }, (_, i) => i);

// cv2.resize(np.arange(32, dtype=np.uint8).reshape(4, 8), (14, 7), interpolation=cv2.INTER_NEAREST)
const CV2_4x8_TO_7x14 = [
  [0, 0, 1, 1, 2, 2, 3, 4, 4, 5, 5, 6, 6, 7],
  [0, 0, 1, 1, 2, 2, 3, 4, 4, 5, 5, 6, 6, 7],
  [8, 8, 9, 9, 10, 10, 11, 12, 12, 13, 13, 14, 14, 15],
  [8, 8, 9, 9, 10, 10, 11, 12, 12, 13, 13, 14, 14, 15],
  [16, 16, 17, 17, 18, 18, 19, 20, 20, 21, 21, 22, 22, 23],
  [16, 16, 17, 17, 18, 18, 19, 20, 20, 21, 21, 22, 22, 23],
  [24, 24, 25, 25, 26, 26, 27, 28, 28, 29, 29, 30, 30, 31],
].flat();

test('resizeNearestCv2 equals OpenCV INTER_NEAREST (up and down)', () => {
  assert.deepEqual([...resizeNearestCv2(arange(4, 8), 4, 8, 7, 14)], CV2_4x8_TO_7x14);
  // cv2.resize(np.arange(8).reshape(1, 8), (3, 1), INTER_NEAREST) = [0, 2, 5] (a centre-aligned resize gives [1, 4, 6])
  assert.deepEqual([...resizeNearestCv2(arange(1, 8), 1, 8, 1, 3)], [0, 2, 5]);
});

test('Resize (fixed 14x7): the label map is resized nearest as OpenCV, the image to the same size', async () => {
  const s = rawSample(halfImage(8, 4), 8, 4, { segMap: arange(4, 8) });
  await new Resize({ scales: [[14, 7]], keepRatio: false }).apply(s, new Rng(0));
  assert.deepEqual([s.img.width, s.img.height], [14, 7]);
  assert.deepEqual(s.meta.imgShape, [7, 14]);
  assert.deepEqual([...s.targets.segMap!], CV2_4x8_TO_7x14);
});

test('Resize keep-ratio to (2048, 1024) and (2048, 512): mmcv rescale sizes', async () => {
  // Cityscapes' 2048x1024 stays; a 640x480 ADE image under (2048, 512): factor min(2048/640, 512/480) = 1.0667 -> 683x512
  for (const [w, h, scale, want] of [[2048, 1024, [2048, 1024], [2048, 1024]], [640, 480, [2048, 512], [683, 512]]] as const) {
    const s = rawSample(new Uint8Array(w * h * 3), w, h, { segMap: new Uint8Array(w * h).fill(3) });
    await new Resize({ scales: [[scale[0], scale[1]]], keepRatio: true }).apply(s, new Rng(0));
    assert.deepEqual([s.img.width, s.img.height], want);
    assert.equal(s.targets.segMap!.length, want[0] * want[1]);
    assert.ok(s.targets.segMap!.every((v) => v === 3));
  }
});

test('RandomResize: scale x ratio truncated as mmcv (int()), then a keep-ratio resize; seg map nearest', async () => {
  // ratio 1.5: (20, 5) -> (int(30), int(7.5)) = (30, 7); 8x4 image: factor min(30/8, 7/4) = 1.75 -> 14x7.
  // (Rounding 7.5 to 8 would give factor 2 and 16x8.)
  const t = new RandomResize({ scale: [20, 5], ratioRange: [1.5, 1.5], keepRatio: true });
  assert.deepEqual(t.scaleFor(1.5), [30, 7]);
  assert.deepEqual(new RandomResize({ scale: [2048, 512], ratioRange: [0.5, 2], keepRatio: true }).scaleFor(0.7513), [1538, 384]);
  const s = rawSample(halfImage(8, 4), 8, 4, { segMap: arange(4, 8) });
  await t.apply(s, new Rng(0));
  assert.deepEqual([s.img.width, s.img.height], [14, 7]);
  assert.deepEqual(s.meta.scaleFactor, [14 / 8, 7 / 4]);
  assert.deepEqual([...s.targets.segMap!], CV2_4x8_TO_7x14);
  // the ratio is drawn uniformly from the range with the sample's generator
  const u = new RandomResize({ scale: [2048, 512], ratioRange: [0.5, 2], keepRatio: true });
  const s2 = rawSample(new Uint8Array(64 * 32 * 3), 64, 32, { segMap: new Uint8Array(64 * 32) });
  await u.apply(s2, new Rng(7));
  const [sw, sh] = u.scaleFor(new Rng(7).uniform(0.5, 2));
  const f = Math.min(Math.max(sw, sh) / 64, Math.min(sw, sh) / 32);
  assert.deepEqual([s2.img.width, s2.img.height], [Math.floor(64 * f + 0.5), Math.floor(32 * f + 0.5)]);
  assert.throws(() => new RandomResize({ scale: [2048, 512], ratioRange: [2, 0.5], keepRatio: true }), /RandomResize.ratioRange: expected 0 < lo <= hi/);
});

test("cat_max_ratio's test: one class, or the largest class at >= ratio of the counted pixels (255 not counted)", () => {
  // one row of 4 pixels, the whole map as the window
  const win = (v: number[], ratio: number) => dominated(Uint8Array.from(v), 4, 0, 0, 4, 1, ratio, 255);
  assert.equal(win([0, 0, 0, 1], 0.75), true); // 3/4 is not < 0.75
  assert.equal(win([0, 0, 0, 1], 0.8), false);
  assert.equal(win([0, 255, 255, 1], 0.75), false); // 1/2
  assert.equal(win([0, 255, 255, 255], 0.75), true); // one class once 255 is dropped
  assert.equal(win([2, 2, 2, 2], 1), true); // a single class always fails mmseg's len(cnt) > 1
});

test('RandomCrop with catMaxRatio redraws dominated windows, at most 10 times, as mmseg', async () => {
  // 4x2 map, 2x2 crops: x0 = 0 and 1 see only class 0 (dominated), x0 = 2 sees 0 and 1 half each
  const map = Uint8Array.from([0, 0, 0, 1, 0, 0, 0, 1]);
  let good = 0;
  for (let seed = 0; seed < 20; seed++) {
    const s = rawSample(halfImage(4, 2), 4, 2, { segMap: map.slice() });
    await new RandomCrop({ cropSize: [2, 2], catMaxRatio: 0.75 }).apply(s, new Rng(seed));
    // replay mmseg's loop: a first window, then up to 10 redraws while dominated
    const r = new Rng(seed);
    let x0 = r.int(0, 2); r.int(0, 0);
    for (let k = 0; k < 10 && x0 !== 2; k++) { x0 = r.int(0, 2); r.int(0, 0); }
    const want = [0, 1, 2, 3, 4, 5, 6, 7].filter((i) => i % 4 >= x0 && i % 4 < x0 + 2).map((i) => map[i]);
    assert.deepEqual([...s.targets.segMap!], want, `seed ${seed}`);
    assert.deepEqual(s.meta.imgShape, [2, 2]);
    if (x0 === 2) good++;
  }
  assert.ok(good >= 18, `the balanced window should almost always be found (${good}/20)`);
  const noMap = rawSample(halfImage(4, 2), 4, 2, {});
  await assert.rejects(new RandomCrop({ cropSize: [2, 2], catMaxRatio: 0.75 }).apply(noMap, new Rng(0)), /RandomCrop.catMaxRatio: mem.png has no label map/);
  assert.throws(() => new RandomCrop({ cropSize: [2, 2], catMaxRatio: 0 }), /RandomCrop.catMaxRatio: expected a number in \(0, 1\]/);
});

test('RandomFlip mirrors the label map; Pad fills it with 255 to the size; PhotoMetricDistortion leaves it alone', async () => {
  const s = rawSample(halfImage(4, 2), 4, 2, { segMap: Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]) });
  await new RandomFlip({ prob: 1 }).apply(s, new Rng(0));
  assert.deepEqual([...s.targets.segMap!], [3, 2, 1, 0, 7, 6, 5, 4]);
  await new PhotoMetricDistortion().apply(s, new Rng(3));
  assert.deepEqual([...s.targets.segMap!], [3, 2, 1, 0, 7, 6, 5, 4]);
  new Pad({ size: [6, 3], segPadValue: 255 }).apply(s);
  assert.deepEqual(s.meta.padShape, [3, 6]);
  assert.deepEqual([...s.targets.segMap!], [3, 2, 1, 0, 255, 255, 7, 6, 5, 4, 255, 255, 255, 255, 255, 255, 255, 255]);
});

test("mmseg's Cityscapes training pipeline runs as a spec list: crop of 1024x512, maps and images aligned", async () => {
  const pipeline = buildPipeline([
    { type: 'RandomResize', scale: [2048, 1024], ratioRange: [0.5, 2.0], keepRatio: true },
    { type: 'RandomCrop', cropSize: [1024, 512], catMaxRatio: 0.75 },
    { type: 'RandomFlip', prob: 0.5 },
    { type: 'PhotoMetricDistortion' },
  ]);
  // left half class 0 (red), right half class 1 (blue): every pixel's class must still match its colour
  const w = 1024, h = 512;
  const seg = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) seg.fill(1, y * w + w / 2, (y + 1) * w);
  for (let seed = 0; seed < 3; seed++) {
    const s = rawSample(halfImage(w, h), w, h, { segMap: seg.slice() });
    await pipeline.apply(s, new Rng(seed));
    assert.ok(s.img.width <= 1024 && s.img.height <= 512);
    assert.equal(s.targets.segMap!.length, s.img.width * s.img.height);
    const d = s.img.data;
    for (let i = 0; i < s.targets.segMap!.length; i += 97) {
      const redder = d[3 * i] > d[3 * i + 2];
      const cls = s.targets.segMap![i];
      // bilinear image edges may blend at the boundary column; away from it colour and class agree
      const x = i % s.img.width;
      const edge = s.targets.segMap![i - (x > 0 ? 1 : 0)] !== s.targets.segMap![i + (x < s.img.width - 1 ? 1 : 0)];
      if (!edge) assert.equal(cls, redder ? 0 : 1, `seed ${seed} pixel ${i}`);
    }
  }
});
