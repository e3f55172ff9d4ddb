/**
 * The heatmap math of MMPose 1.x's codecs (mmpose/codecs/utils/{gaussian_heatmap,post_processing,refinement}.py),
 * as plain TypeScript over typed arrays, so that targets and decoded keypoints equal mmpose's.
 *
 * Shapes: K keypoints, heatmaps [K, H, W] row-major in a Float32Array; keypoints [K, 2] (x, y) in heatmap pixels;
 * visibility / weights [K]. float32 roundings are kept where mmpose's numpy works in float32 and they decide a
 * pixel (the integer centre of a Gaussian); elsewhere the math runs in float64 (differences ≤ 1 ulp of float32).
 */

/** Heatmaps of K keypoints: data [K·H·W] row-major. */
export interface Heatmaps {
  data: Float32Array;
  K: number;
  H: number;
  W: number;
}

const f32 = Math.fround;

function checkKeypoints(fn: string, keypoints: Float32Array | number[], visible: Float32Array | number[]): number {
  if (keypoints.length % 2 !== 0) throw new Error(`${fn}: keypoints must be [K, 2], got ${keypoints.length} numbers`);
  const K = keypoints.length / 2;
  if (visible.length !== K) throw new Error(`${fn}: keypointsVisible must be [K] = [${K}], got ${visible.length}`);
  return K;
}

/**
 * mmpose's generate_gaussian_heatmaps (MSRA): a Gaussian of σ on a (2·3σ+1)² patch centred on the keypoint's
 * nearest pixel (⌊x + 0.5⌋), peak 1, max-merged. Keypoints [K, 2] in heatmap pixels. A keypoint with
 * visibility < 0.5 is skipped; one whose patch misses the heatmap gets weight 0. → heatmaps, weights [K].
 */
export function generateGaussianHeatmaps(W: number, H: number, keypoints: Float32Array, visible: Float32Array, sigma: number): { heatmaps: Heatmaps; weights: Float32Array } {
  const K = checkKeypoints('generateGaussianHeatmaps', keypoints, visible);
  const data = new Float32Array(K * H * W);
  const weights = Float32Array.from(visible);
  const radius = sigma * 3;
  const size = 2 * radius + 1;
  const c0 = Math.floor(size / 2);
  for (let k = 0; k < K; k++) {
    if (visible[k] < 0.5) continue;
    const mx = Math.trunc(f32(keypoints[2 * k] + 0.5));
    const my = Math.trunc(f32(keypoints[2 * k + 1] + 0.5));
    const left = Math.trunc(mx - radius), top = Math.trunc(my - radius);
    const right = Math.trunc(mx + radius + 1), bottom = Math.trunc(my + radius + 1);
    if (left >= W || top >= H || right < 0 || bottom < 0) {
      weights[k] = 0;
      continue;
    }
    for (let y = Math.max(0, top); y < Math.min(H, bottom); y++) {
      for (let x = Math.max(0, left); x < Math.min(W, right); x++) {
        const gx = x - left - c0, gy = y - top - c0;
        const g = Math.exp(-(gx * gx + gy * gy) / (2 * sigma * sigma));
        const i = (k * H + y) * W + x;
        if (g > data[i]) data[i] = g;
      }
    }
  }
  return { heatmaps: { data, K, H, W }, weights };
}

/** mmpose's generate_unbiased_gaussian_heatmaps (DARK): the Gaussian centred on the sub-pixel keypoint, over the whole map. */
export function generateUnbiasedGaussianHeatmaps(W: number, H: number, keypoints: Float32Array, visible: Float32Array, sigma: number): { heatmaps: Heatmaps; weights: Float32Array } {
  const K = checkKeypoints('generateUnbiasedGaussianHeatmaps', keypoints, visible);
  const data = new Float32Array(K * H * W);
  const weights = Float32Array.from(visible);
  const radius = sigma * 3;
  for (let k = 0; k < K; k++) {
    if (visible[k] < 0.5) continue;
    const mx = keypoints[2 * k], my = keypoints[2 * k + 1];
    if (mx - radius >= W || my - radius >= H || mx + radius + 1 < 0 || my + radius + 1 < 0) {
      weights[k] = 0;
      continue;
    }
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const g = Math.exp(-((x - mx) ** 2 + (y - my) ** 2) / (2 * sigma * sigma));
        const i = (k * H + y) * W + x;
        if (g > data[i]) data[i] = g;
      }
    }
  }
  return { heatmaps: { data, K, H, W }, weights };
}

/** mmpose's generate_udp_gaussian_heatmaps: MSRA's patch, with the Gaussian's centre moved by the sub-pixel offset. */
export function generateUdpGaussianHeatmaps(W: number, H: number, keypoints: Float32Array, visible: Float32Array, sigma: number): { heatmaps: Heatmaps; weights: Float32Array } {
  const K = checkKeypoints('generateUdpGaussianHeatmaps', keypoints, visible);
  const data = new Float32Array(K * H * W);
  const weights = Float32Array.from(visible);
  const radius = sigma * 3;
  const size = 2 * radius + 1;
  for (let k = 0; k < K; k++) {
    if (visible[k] < 0.5) continue;
    const mx = Math.trunc(f32(keypoints[2 * k] + 0.5));
    const my = Math.trunc(f32(keypoints[2 * k + 1] + 0.5));
    const left = Math.trunc(mx - radius), top = Math.trunc(my - radius);
    const right = Math.trunc(mx + radius + 1), bottom = Math.trunc(my + radius + 1);
    if (left >= W || top >= H || right < 0 || bottom < 0) {
      weights[k] = 0;
      continue;
    }
    const x0 = f32(Math.floor(size / 2) + f32(keypoints[2 * k] - mx));
    const y0 = f32(Math.floor(size / 2) + f32(keypoints[2 * k + 1] - my));
    for (let y = Math.max(0, top); y < Math.min(H, bottom); y++) {
      for (let x = Math.max(0, left); x < Math.min(W, right); x++) {
        const gx = x - left - x0, gy = y - top - y0;
        const g = Math.exp(-(gx * gx + gy * gy) / (2 * sigma * sigma));
        const i = (k * H + y) * W + x;
        if (g > data[i]) data[i] = g;
      }
    }
  }
  return { heatmaps: { data, K, H, W }, weights };
}

/**
 * mmpose's get_heatmap_maximum: per channel the first arg-max pixel (x, y) and its value; (−1, −1) where the
 * maximum is ≤ 0. → keypoints [K, 2] (heatmap pixels), scores [K].
 */
export function getHeatmapMaximum(hm: Heatmaps): { keypoints: Float32Array; scores: Float32Array } {
  const { data, K, H, W } = hm;
  const keypoints = new Float32Array(K * 2);
  const scores = new Float32Array(K);
  for (let k = 0; k < K; k++) {
    let best = 0, val = -Infinity;
    const off = k * H * W;
    for (let i = 0; i < H * W; i++) {
      if (data[off + i] > val) {
        val = data[off + i];
        best = i;
      }
    }
    scores[k] = val;
    if (val > 0) {
      keypoints[2 * k] = best % W;
      keypoints[2 * k + 1] = Math.floor(best / W);
    } else {
      keypoints[2 * k] = keypoints[2 * k + 1] = -1;
    }
  }
  return { keypoints, scores };
}

/**
 * mmpose's gaussian_blur: each channel zero-padded by (kernel−1)/2, blurred as cv2.GaussianBlur(kernel, σ 0)
 * (σ = 0.3·((kernel−1)/2 − 1) + 0.8, separable, normalised), cropped, then rescaled to keep the channel's maximum.
 * Returns a new array.
 */
export function gaussianBlur(hm: Heatmaps, kernel = 11): Heatmaps {
  if (!Number.isInteger(kernel) || kernel < 1 || kernel % 2 !== 1) throw new Error(`gaussianBlur: blurKernelSize must be an odd positive integer, got ${kernel}`);
  const { data, K, H, W } = hm;
  const r = (kernel - 1) / 2;
  const sigma = 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8;
  const w = new Float64Array(kernel);
  let sum = 0;
  for (let i = 0; i < kernel; i++) sum += w[i] = Math.exp(-((i - r) ** 2) / (2 * sigma * sigma));
  for (let i = 0; i < kernel; i++) w[i] /= sum;
  const out = new Float32Array(data.length);
  const tmp = new Float64Array(H * W);
  for (let k = 0; k < K; k++) {
    const off = k * H * W;
    let origMax = -Infinity;
    for (let i = 0; i < H * W; i++) origMax = Math.max(origMax, data[off + i]);
    // rows (x), then columns (y); outside the channel the padded array is zero
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let s = 0;
        for (let t = -r; t <= r; t++) {
          const xx = x + t;
          if (xx >= 0 && xx < W) s += w[t + r] * data[off + y * W + xx];
        }
        tmp[y * W + x] = s;
      }
    }
    let newMax = -Infinity;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let s = 0;
        for (let t = -r; t <= r; t++) {
          const yy = y + t;
          if (yy >= 0 && yy < H) s += w[t + r] * tmp[yy * W + x];
        }
        out[off + y * W + x] = s;
        newMax = Math.max(newMax, out[off + y * W + x]);
      }
    }
    const f = origMax / newMax;
    for (let i = 0; i < H * W; i++) out[off + i] *= f;
  }
  return { data: out, K, H, W };
}

/**
 * mmpose's refine_keypoints: the quarter-pixel shift towards the higher neighbour, per axis (mmpose's bounds:
 * x needs 1 < x < W−1 and 0 < y < H; y needs 1 < y < H−1 and 0 < x < W). In place on keypoints [K, 2].
 */
export function refineKeypoints(keypoints: Float32Array, hm: Heatmaps): Float32Array {
  const { data, H, W } = hm;
  for (let k = 0; k < hm.K; k++) {
    const x = Math.trunc(keypoints[2 * k]), y = Math.trunc(keypoints[2 * k + 1]);
    const at = (yy: number, xx: number) => data[(k * H + yy) * W + xx];
    const dx = 1 < x && x < W - 1 && 0 < y && y < H ? at(y, x + 1) - at(y, x - 1) : 0;
    const dy = 1 < y && y < H - 1 && 0 < x && x < W ? at(y + 1, x) - at(y - 1, x) : 0;
    keypoints[2 * k] = f32(keypoints[2 * k] + Math.sign(dx) * 0.25);
    keypoints[2 * k + 1] = f32(keypoints[2 * k + 1] + Math.sign(dy) * 0.25);
  }
  return keypoints;
}

/**
 * mmpose's refine_keypoints_dark (DARK, Zhang et al. 2020): blur, log (floor 1e-10), one Newton step
 * −H⁻¹∇ on the log-heatmap where 1 < x < W−2, 1 < y < H−2 and H is invertible. In place on keypoints [K, 2].
 */
export function refineKeypointsDark(keypoints: Float32Array, hm: Heatmaps, blurKernelSize: number): Float32Array {
  const { H, W } = hm;
  const b = gaussianBlur(hm, blurKernelSize).data;
  for (let i = 0; i < b.length; i++) b[i] = Math.log(Math.max(b[i], 1e-10));
  for (let k = 0; k < hm.K; k++) {
    const x = Math.trunc(keypoints[2 * k]), y = Math.trunc(keypoints[2 * k + 1]);
    if (!(1 < x && x < W - 2 && 1 < y && y < H - 2)) continue;
    const at = (yy: number, xx: number) => b[(k * H + yy) * W + xx];
    const dx = 0.5 * (at(y, x + 1) - at(y, x - 1));
    const dy = 0.5 * (at(y + 1, x) - at(y - 1, x));
    const dxx = 0.25 * (at(y, x + 2) - 2 * at(y, x) + at(y, x - 2));
    const dxy = 0.25 * (at(y + 1, x + 1) - at(y - 1, x + 1) - at(y + 1, x - 1) + at(y - 1, x - 1));
    const dyy = 0.25 * (at(y + 2, x) - 2 * at(y, x) + at(y - 2, x));
    const det = dxx * dyy - dxy * dxy;
    if (det === 0) continue;
    // offset = −H⁻¹ ∇, H⁻¹ = [[dyy, −dxy], [−dxy, dxx]] / det
    keypoints[2 * k] = f32(keypoints[2 * k] - (dyy * dx - dxy * dy) / det);
    keypoints[2 * k + 1] = f32(keypoints[2 * k + 1] - (-dxy * dx + dxx * dy) / det);
  }
  return keypoints;
}

const FLOAT32_EPS = 1.1920928955078125e-7;

/**
 * mmpose's refine_keypoints_dark_udp: blur, clip to [1e-3, 50], log, edge-pad by 1, then one Newton step with
 * (H + ε·I)⁻¹ at every keypoint (no bounds check: the padding gives the neighbours; mmpose's flat indexing,
 * which reads the neighbouring channel at (−1, −1) keypoints, is kept). In place on keypoints [K, 2].
 */
export function refineKeypointsDarkUdp(keypoints: Float32Array, hm: Heatmaps, blurKernelSize: number): Float32Array {
  const { K, H, W } = hm;
  const b = gaussianBlur(hm, blurKernelSize).data;
  const W2 = W + 2, H2 = H + 2;
  const pad = new Float32Array(K * H2 * W2);
  for (let k = 0; k < K; k++) {
    for (let y = 0; y < H2; y++) {
      const sy = Math.min(Math.max(y - 1, 0), H - 1);
      for (let x = 0; x < W2; x++) {
        const sx = Math.min(Math.max(x - 1, 0), W - 1);
        pad[(k * H2 + y) * W2 + x] = Math.log(Math.min(Math.max(b[(k * H + sy) * W + sx], 1e-3), 50));
      }
    }
  }
  const n = pad.length;
  const at = (i: number) => pad[((i % n) + n) % n]; // numpy's negative indices wrap
  for (let k = 0; k < K; k++) {
    const idx = Math.trunc(keypoints[2 * k] + 1 + (keypoints[2 * k + 1] + 1) * W2 + W2 * H2 * k);
    const i_ = at(idx), ix1 = at(idx + 1), iy1 = at(idx + W2), ix1y1 = at(idx + W2 + 1);
    const ix1_y1_ = at(idx - W2 - 1), ix1_ = at(idx - 1), iy1_ = at(idx - W2);
    const dx = 0.5 * (ix1 - ix1_);
    const dy = 0.5 * (iy1 - iy1_);
    const dxx = ix1 - 2 * i_ + ix1_ + FLOAT32_EPS;
    const dyy = iy1 - 2 * i_ + iy1_ + FLOAT32_EPS;
    const dxy = 0.5 * (ix1y1 - ix1 - iy1 + i_ + i_ - ix1_ - iy1_ + ix1_y1_);
    const det = dxx * dyy - dxy * dxy;
    keypoints[2 * k] = f32(keypoints[2 * k] - (dyy * dx - dxy * dy) / det);
    keypoints[2 * k + 1] = f32(keypoints[2 * k + 1] - (-dxy * dx + dxx * dy) / det);
  }
  return keypoints;
}
