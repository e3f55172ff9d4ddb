/**
 * MSRAHeatmap, DARK (MSRAHeatmap unbiased) and UDPHeatmap against MMPose 1.3's codecs, on hand-made keypoints
 * (interior, fractional, near the border, invisible, outside, the last pixel) and on smooth random heatmaps
 * (scripts/reference/mmpose_fixtures.py → test/fixtures/mmpose/codec.pth).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { buildCodec, type CodecConfig, type Heatmaps } from '../../src/models/codecs';
import { repoRoot } from '../helpers/paths';

const DIR = process.env.TSVISION_MMPOSE_FIXTURES ?? path.join(repoRoot, 'test/fixtures/mmpose');

interface PyCodec { type: 'MSRAHeatmap' | 'UDPHeatmap'; input_size: [number, number]; heatmap_size: [number, number]; sigma: number; unbiased?: boolean }
const man = JSON.parse(fs.readFileSync(path.join(DIR, 'manifest.json'), 'utf8')) as { codecs: Record<string, PyCodec>; codecs_384: Record<string, PyCodec> };

/** mmpose's codec dict (snake_case) as our CodecConfig. */
function codecOf(c: PyCodec): CodecConfig {
  if (c.type === 'MSRAHeatmap') return { type: 'MSRAHeatmap', inputSize: c.input_size, heatmapSize: c.heatmap_size, sigma: c.sigma, unbiased: c.unbiased ?? false };
  return { type: 'UDPHeatmap', inputSize: c.input_size, heatmapSize: c.heatmap_size, sigma: c.sigma };
}

const f32 = (t: torch.Tensor) => Float32Array.from(t.toTypedArray() as Float32Array);
/** max |a − b|; a NaN must face a NaN (mmpose's UDP decoding of an all-zero heatmap gives NaN: 0/0 in its blur). */
const maxAbs = (a: Float32Array, b: Float32Array) => {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(b[i])) assert.ok(Number.isNaN(a[i]), `element ${i}: ${a[i]}, the reference is NaN`);
    else d = Math.max(d, Math.abs(a[i] - b[i]));
  }
  return d;
};

test('codecs: encode and decode equal mmpose 1.3 (MSRA, DARK, UDP; σ 2 at 96×128, σ 3 at 288×384)', () => {
  const io = torch.loadStateDict(path.join(DIR, 'codec.pth'));
  try {
    const kp = f32(io.get('keypoints')!);
    const vis = f32(io.get('visible')!);
    const rnd = io.get('random_heatmaps')!;
    const [K, H, W] = rnd.shape;
    const random: Heatmaps = { data: f32(rnd), K, H, W };
    const cases = Object.entries({ ...man.codecs, ...man.codecs_384 });
    assert.equal(cases.length, 6);
    for (const [name, py] of cases) {
      const codec = buildCodec(codecOf(py), `codecs.${name}`);
      const enc = codec.encode(name.endsWith('_384') ? kp.map((v) => v * 3) : kp, vis);
      const refHm = io.get(`codec.${name}.heatmaps`)!;
      assert.deepEqual([enc.heatmaps.K, enc.heatmaps.H, enc.heatmaps.W], refHm.shape, `${name}: heatmap shape`);
      const dHm = maxAbs(enc.heatmaps.data, f32(refHm));
      assert.ok(dHm <= 1e-6, `${name}: targets max|Δ| ${dHm}`);
      assert.deepEqual([...enc.weights], [...f32(io.get(`codec.${name}.weights`)!)], `${name}: keypoint weights`);
      // the targets are not trivial: the visible in-bounds keypoints have peaks, the others none
      assert.ok(enc.weights.filter((w) => w > 0).length >= 3 && enc.weights.some((w) => w === 0), `${name}: weights ${[...enc.weights]}`);

      const refHeat: Heatmaps = { data: f32(refHm), K: refHm.shape[0], H: refHm.shape[1], W: refHm.shape[2] };
      const errs: string[] = [];
      for (const [label, hm, prefix] of [['encoded', refHeat, `codec.${name}`], ['random', random, `codec.${name}.decode_random`]] as const) {
        const dec = codec.decode(hm);
        const dKp = maxAbs(dec.keypoints, f32(io.get(`${prefix}.keypoints`)!));
        const dSc = maxAbs(dec.scores, f32(io.get(`${prefix}.scores`)!));
        assert.ok(dKp <= 1e-3, `${name} decode (${label}): keypoints max|Δ| ${dKp} px`);
        assert.ok(dSc <= 1e-6, `${name} decode (${label}): scores max|Δ| ${dSc}`);
        errs.push(`${label}: kp ${dKp.toExponential(2)} px, scores ${dSc.toExponential(2)}`);
      }
      console.log(`${name}: targets max|Δ| ${dHm.toExponential(2)}; decode ${errs.join('; ')}`);
    }
  } finally {
    for (const t of io.values()) t.dispose();
  }
});

test('codecs: errors name the config key', () => {
  assert.throws(() => buildCodec({ type: 'MSRAHeatmap', inputSize: [192, 256], heatmapSize: [48, 0] as never, sigma: 2 }, 'model.head.decoder'), /model\.head\.decoder\.heatmapSize/);
  assert.throws(() => buildCodec({ type: 'UDPHeatmap', inputSize: [192, 256], heatmapSize: [48, 64], heatmapType: 'combined' as never }, 'model.head.decoder'), /model\.head\.decoder\.heatmapType/);
  assert.throws(() => buildCodec({ type: 'Nope' } as never, 'model.head.decoder'), /model\.head\.decoder\.type/);
});
