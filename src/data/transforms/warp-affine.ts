/**
 * The affine warps of MMPose's TopdownAffine, reproduced to the bit: the warp matrices of
 * mmpose.structures.bbox (`get_warp_matrix` through cv2.getAffineTransform, and
 * `get_udp_warp_matrix`), and OpenCV 4.8's warpAffine with INTER_LINEAR and a constant 0
 * border, whose arithmetic is fixed point: the inverse map is scaled by 2^10 and rounded,
 * sampled on a 1/32-pixel grid, with bilinear weights in 2^15 units.
 *
 * Matrices are [a, b, c, d, e, f]: x' = a x + b y + c, y' = d x + e y + f (cv2's 2x3, row-major).
 * Images are uint8, interleaved (HWC), any channel count.
 */

/** Round half to even, as cvRound / saturate_cast<int>(double) on x86 (lrint). */
function cvRound(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * cv2.getAffineTransform: the 2x3 matrix taking the three `src` points onto `dst` (points as
 * [x0, y0, x1, y1, x2, y2], float32 as cv2 receives them), solved as OpenCV does (6x6 LU with
 * partial pivoting, in double).
 */
export function getAffineTransform(src: ArrayLike<number>, dst: ArrayLike<number>): number[] {
  const a = new Float64Array(36);
  const b = new Float64Array(6);
  for (let i = 0; i < 3; i++) {
    const j = i * 12, k = i * 12 + 6;
    a[j] = a[k + 3] = Math.fround(src[2 * i]);
    a[j + 1] = a[k + 4] = Math.fround(src[2 * i + 1]);
    a[j + 2] = a[k + 5] = 1;
    b[i * 2] = Math.fround(dst[2 * i]);
    b[i * 2 + 1] = Math.fround(dst[2 * i + 1]);
  }
  const m = 6;
  for (let i = 0; i < m; i++) {
    let k = i;
    for (let j = i + 1; j < m; j++) if (Math.abs(a[j * m + i]) > Math.abs(a[k * m + i])) k = j;
    if (Math.abs(a[k * m + i]) < Number.EPSILON * 100) throw new Error('getAffineTransform: the three source points are collinear');
    if (k !== i) {
      for (let j = i; j < m; j++) [a[i * m + j], a[k * m + j]] = [a[k * m + j], a[i * m + j]];
      [b[i], b[k]] = [b[k], b[i]];
    }
    const d = -1 / a[i * m + i];
    for (let j = i + 1; j < m; j++) {
      const alpha = a[j * m + i] * d;
      for (let q = i + 1; q < m; q++) a[j * m + q] += alpha * a[i * m + q];
      b[j] += alpha * b[i];
    }
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = b[i];
    for (let q = i + 1; q < m; q++) s -= a[i * m + q] * b[q];
    b[i] = s / a[i * m + i];
  }
  return Array.from(b);
}

/** A float32 constant written as a C hex float, e.g. '0x1.45f306p-1'. */
function hexf(str: string): number {
  const m = /^(-?)0x([0-9a-f]+)\.([0-9a-f]*)p([+-]?\d+)$/i.exec(str)!;
  return Math.fround((m[1] ? -1 : 1) * (parseInt(m[2] + m[3], 16) / 16 ** m[3].length) * 2 ** parseInt(m[4], 10));
}

const SC = {
  twoOverPi: hexf('0x1.45f306p-1'), pio2Hi: hexf('-0x1.921fb0p+00'), pio2Med: hexf('-0x1.5110b4p-22'), pio2Lo: hexf('-0x1.846988p-48'),
  magic: hexf('0x1.800000p+23'),
  cos: [hexf('0x1.98e616p-16'), hexf('-0x1.6c06dcp-10'), hexf('0x1.55553cp-05'), hexf('-0x1.000000p-01'), 1],
  sin: [hexf('0x1.7d3bbcp-19'), hexf('-0x1.a06bbap-13'), hexf('0x1.11119ap-07'), hexf('-0x1.555556p-03')],
};

/**
 * np.sin / np.cos of a float32 as numpy (1.22+) computes them on x86 with FMA3 / AVX-512
 * (loops_trigonometric.dispatch.c.src): Cody-Waite reduction by pi/2 in three fused
 * multiply-adds, minimax polynomials on [-pi/4, pi/4], quadrant selection. They are not
 * correctly rounded (1-2 ulp), and one ulp of a cosine moves a warp's source points, hence
 * cv2's output, so MMPose's rotated warps need these exact values. A float32 fused
 * multiply-add is fround(a * b + c) (the product of two float32 is exact in double).
 * Outside numpy's range for the vector path (|x| > 71476), numpy calls libm: correctly rounded here.
 */
export function numpySinCosF32(x: number, cos: boolean): number {
  const f = Math.fround;
  x = f(x);
  if (!(Math.abs(x) <= (cos ? 71476.0625 : 117435.992))) return f(cos ? Math.cos(x) : Math.sin(x));
  const fma = (a: number, b: number, c: number) => f(a * b + c);
  const q = f(f(f(x * SC.twoOverPi) + SC.magic) - SC.magic);
  let r = fma(q, SC.pio2Hi, x);
  r = fma(q, SC.pio2Med, r);
  r = fma(q, SC.pio2Lo, r);
  const r2 = f(r * r);
  let c = fma(SC.cos[0], r2, SC.cos[1]);
  for (let i = 2; i < 5; i++) c = fma(c, r2, SC.cos[i]);
  let s = fma(SC.sin[0], r2, SC.sin[1]);
  s = fma(s, r2, SC.sin[2]);
  s = fma(s, r2, SC.sin[3]);
  s = fma(s, r2, 0);
  s = fma(s, r, r);
  const iq = Math.round(q) + (cos ? 1 : 0);
  const v = (iq & 1) === 0 ? s : c;
  return (iq & 2) === 2 ? f(0 - v) : v;
}

/** np.deg2rad of a float32: x * float32(pi / 180), in float32. */
function deg2radF32(deg: number): number {
  return Math.fround(Math.fround(deg) * Math.fround(Math.PI / 180));
}

/**
 * mmpose get_warp_matrix (fix_aspect_ratio, no shift): the matrix taking the box of `scale`
 * [w, h] around `center` [x, y], rotated by `rotDeg` degrees, onto an image of `outputSize` [w, h].
 */
export function getWarpMatrix(center: ArrayLike<number>, scale: ArrayLike<number>, rotDeg: number, outputSize: readonly [number, number]): number[] {
  // MMPose's rotation is a float32 (bbox_rotation): np.deg2rad, np.sin and np.cos run in
  // float32, and numpy's float32 sin/cos are its own polynomials (see numpySinCosF32).
  const rot = deg2radF32(rotDeg);
  const sn = numpySinCosF32(rot, false), cs = numpySinCosF32(rot, true);
  const hw = scale[0] * -0.5;
  const srcDir = [cs * hw - sn * 0, sn * hw + cs * 0];
  const [dw, dh] = outputSize;
  // The points are stored in float32 arrays before cv2 sees them.
  const f = Math.fround;
  const s0 = [f(center[0]), f(center[1])];
  const s1 = [f(center[0] + srcDir[0]), f(center[1] + srcDir[1])];
  const d0 = [dw * 0.5, dh * 0.5];
  const d1 = [dw * 0.5 + dw * -0.5, dh * 0.5];
  // _get_3rd_point: b + rot90(a - b), in float32 (a, b are float32 rows).
  const third = (p: number[], q: number[]) => {
    const dx = f(p[0] - q[0]), dy = f(p[1] - q[1]);
    return [f(q[0] - dy), f(q[1] + dx)];
  };
  const s2 = third(s0, s1), d2 = third(d0, d1);
  return getAffineTransform([...s0, ...s1, ...s2], [...d0, ...d1, ...d2]);
}

/** mmpose get_udp_warp_matrix (UDP, CVPR 2020): unit-length pixel spacing; float32 entries as mmpose stores them. */
export function getUdpWarpMatrix(center: ArrayLike<number>, scale: ArrayLike<number>, rotDeg: number, outputSize: readonly [number, number]): number[] {
  const rot = deg2radF32(rotDeg); // float32, then math.cos / math.sin in double
  const cs = Math.cos(rot), sn = Math.sin(rot);
  const inW = center[0] * 2, inH = center[1] * 2;
  const sx = (outputSize[0] - 1) / scale[0];
  const sy = (outputSize[1] - 1) / scale[1];
  const f = Math.fround;
  return [
    f(cs * sx), f(-sn * sx), f(sx * (-0.5 * inW * cs + 0.5 * inH * sn + 0.5 * scale[0])),
    f(sn * sy), f(cs * sy), f(sy * (-0.5 * inW * sn - 0.5 * inH * cs + 0.5 * scale[1])),
  ];
}

/**
 * cv2.transform of float32 points [N*2] (in place) by a 2x3 matrix: cv2 converts the matrix to
 * float32 and computes in float32.
 */
export function transformPoints(points: Float32Array, m: readonly number[], stride = 2): void {
  const f = Math.fround;
  const [a, b, c, d, e, g] = m.map(f);
  for (let i = 0; i < points.length; i += stride) {
    const x = points[i], y = points[i + 1];
    points[i] = f(f(f(a * x) + f(b * y)) + c);
    points[i + 1] = f(f(f(d * x) + f(e * y)) + g);
  }
}

const INTER_BITS = 5;
const INTER_TAB_SIZE = 1 << INTER_BITS;
const AB_BITS = 10;
const AB_SCALE = 1 << AB_BITS;
const ROUND_DELTA = AB_SCALE / INTER_TAB_SIZE / 2;

/**
 * cv2.warpAffine(src, m, (dw, dh), flags=INTER_LINEAR) with BORDER_CONSTANT 0: `m` maps source
 * to destination; each destination pixel samples the source at the inverse image of its index.
 */
export function warpAffineLinear(src: Uint8Array, sw: number, sh: number, cn: number, m: readonly number[], dw: number, dh: number): Uint8Array {
  if (src.length !== sw * sh * cn) throw new Error(`warpAffineLinear: expected ${sw}x${sh}x${cn} bytes, got ${src.length}`);
  // Inverse matrix, as warpAffine computes it (WARP_INVERSE_MAP not set).
  let D = m[0] * m[4] - m[1] * m[3];
  D = D !== 0 ? 1 / D : 0;
  const M = [...m];
  const a11 = M[4] * D, a22 = M[0] * D;
  M[0] = a11; M[1] *= -D; M[3] *= -D; M[4] = a22;
  const b1 = -M[0] * M[2] - M[1] * M[5];
  const b2 = -M[3] * M[2] - M[4] * M[5];
  M[2] = b1; M[5] = b2;

  const adelta = new Int32Array(dw), bdelta = new Int32Array(dw);
  for (let x = 0; x < dw; x++) {
    adelta[x] = cvRound(M[0] * x * AB_SCALE);
    bdelta[x] = cvRound(M[3] * x * AB_SCALE);
  }
  const out = new Uint8Array(dw * dh * cn);
  const sstep = sw * cn;
  const width1 = Math.max(sw - 1, 0), height1 = Math.max(sh - 1, 0);
  const shift = AB_BITS - INTER_BITS;
  const w = new Int32Array(4);
  for (let y = 0; y < dh; y++) {
    const X0 = cvRound((M[1] * y + M[2]) * AB_SCALE) + ROUND_DELTA;
    const Y0 = cvRound((M[4] * y + M[5]) * AB_SCALE) + ROUND_DELTA;
    for (let x = 0; x < dw; x++) {
      const X = (X0 + adelta[x]) >> shift;
      const Y = (Y0 + bdelta[x]) >> shift;
      const sx = clampShort(X >> INTER_BITS), sy = clampShort(Y >> INTER_BITS);
      const fx = X & (INTER_TAB_SIZE - 1), fy = Y & (INTER_TAB_SIZE - 1);
      // initInterTab2D(INTER_LINEAR, fixed point): exact products in 2^15 units.
      w[0] = (32 - fy) * (32 - fx) * 32; w[1] = (32 - fy) * fx * 32;
      w[2] = fy * (32 - fx) * 32; w[3] = fy * fx * 32;
      const o = (y * dw + x) * cn;
      if (sx >= 0 && sx < width1 && sy >= 0 && sy < height1) {
        const s = sy * sstep + sx * cn;
        for (let k = 0; k < cn; k++) {
          const v = src[s + k] * w[0] + src[s + cn + k] * w[1] + src[s + sstep + k] * w[2] + src[s + sstep + cn + k] * w[3];
          out[o + k] = (v + (1 << 14)) >> 15;
        }
      } else if (sx >= sw || sx + 1 < 0 || sy >= sh || sy + 1 < 0) {
        // constant border 0: out is already zero
      } else {
        const sx0 = sx >= 0 && sx < sw ? sx : -1, sx1 = sx + 1 >= 0 && sx + 1 < sw ? sx + 1 : -1;
        const sy0 = sy >= 0 && sy < sh ? sy : -1, sy1 = sy + 1 >= 0 && sy + 1 < sh ? sy + 1 : -1;
        for (let k = 0; k < cn; k++) {
          const v0 = sx0 >= 0 && sy0 >= 0 ? src[sy0 * sstep + sx0 * cn + k] : 0;
          const v1 = sx1 >= 0 && sy0 >= 0 ? src[sy0 * sstep + sx1 * cn + k] : 0;
          const v2 = sx0 >= 0 && sy1 >= 0 ? src[sy1 * sstep + sx0 * cn + k] : 0;
          const v3 = sx1 >= 0 && sy1 >= 0 ? src[sy1 * sstep + sx1 * cn + k] : 0;
          out[o + k] = (v0 * w[0] + v1 * w[1] + v2 * w[2] + v3 * w[3] + (1 << 14)) >> 15;
        }
      }
    }
  }
  return out;
}

function clampShort(v: number): number {
  return v < -32768 ? -32768 : v > 32767 ? 32767 : v;
}
