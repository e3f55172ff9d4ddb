/**
 * COCO mask utilities (the reference's maskApi), over typed arrays.
 *
 *   Mask:  Uint8Array [H*W] in column-major (Fortran) order, as COCO stores masks:
 *          pixel (x, y) is at index x*H + y; non-zero means inside.
 *   RLE:   `counts` alternate runs of 0s and 1s over that order, starting with 0s
 *          (a mask that starts inside begins with a 0-length run).
 *   Box:   [x, y, w, h] in pixels.
 *
 * Every function follows maskApi.c step by step (integer rasterization of polygons at 5x,
 * unsigned run arithmetic, IoU in double), so areas, boxes and IoUs agree with pycocotools
 * exactly, not just approximately.
 */

/** A run-length encoded binary mask of `h` x `w` pixels. */
export interface Rle {
  h: number;
  w: number;
  /** Run lengths, alternating 0s and 1s, starting with 0s; they sum to h*w. */
  counts: Uint32Array;
}

/** COCO's JSON form of an RLE: `size` is [height, width]; `counts` compressed or not. */
export interface RleJson {
  size: [number, number];
  counts: string | number[];
}

/** Encodes a column-major mask ([h*w], index x*h + y) as an RLE. */
export function encodeMask(mask: ArrayLike<number>, h: number, w: number): Rle {
  const a = h * w;
  if (mask.length !== a) throw new Error(`encodeMask: expected a mask of ${h}x${w} = ${a} pixels, got ${mask.length}`);
  const runs: number[] = [];
  let prev = 0;
  let c = 0;
  for (let j = 0; j < a; j++) {
    const v = mask[j] !== 0 ? 1 : 0;
    if (v !== prev) {
      runs.push(c);
      c = 0;
      prev = v;
    }
    c++;
  }
  runs.push(c);
  return { h, w, counts: Uint32Array.from(runs) };
}

/** Decodes an RLE into a column-major mask ([h*w], index x*h + y), 1 inside. */
export function decodeMask(rle: Rle): Uint8Array {
  const out = new Uint8Array(rle.h * rle.w);
  let p = 0;
  let v = 0;
  for (let j = 0; j < rle.counts.length; j++) {
    const end = Math.min(p + rle.counts[j], out.length);
    if (v) out.fill(1, p, end);
    p = end;
    v ^= 1;
  }
  return out;
}

/** Number of pixels inside the mask. */
export function rleArea(rle: Rle): number {
  let a = 0;
  const c = rle.counts;
  for (let j = 1; j < c.length; j += 2) a += c[j];
  return a;
}

/** Tight box [x, y, w, h] around the mask ([0,0,0,0] when empty), as maskApi's rleToBbox. */
export function rleToBbox(rle: Rle): [number, number, number, number] {
  const { h, w, counts } = rle;
  const m = counts.length - (counts.length % 2);
  if (m === 0) return [0, 0, 0, 0];
  let xs = w, ys = h, xe = 0, ye = 0, cc = 0, xp = 0;
  for (let j = 0; j < m; j++) {
    cc = (cc + counts[j]) >>> 0;
    const t = (cc - (j % 2)) >>> 0;
    const y = t % h;
    const x = (t - y) / h;
    if (j % 2 === 0) xp = x;
    else if (xp < x) {
      // The run wraps to another column: it covers the full height.
      ys = 0;
      ye = h - 1;
    }
    xs = Math.min(xs, x);
    xe = Math.max(xe, x);
    ys = Math.min(ys, y);
    ye = Math.max(ye, y);
  }
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}

/**
 * Walks two RLEs of one size in lockstep, as maskApi's rleMerge and rleIou do: `step` gets
 * each stretch of c pixels with both masks' values over it (va, vb), their values after it,
 * and whether it is the last stretch.
 */
function walkRuns(A: Uint32Array, B: Uint32Array, step: (c: number, va: number, vb: number, vaNext: number, vbNext: number, last: boolean) => void): void {
  let ca = A.length ? A[0] : 0;
  let cb = B.length ? B[0] : 0;
  let va = 0, vb = 0, a = 1, b = 1, ct = 1;
  while (ct > 0) {
    const c = Math.min(ca, cb);
    const va0 = va, vb0 = vb;
    ct = 0;
    ca -= c;
    if (!ca && a < A.length) {
      ca = A[a++];
      va ^= 1;
    }
    ct += ca;
    cb -= c;
    if (!cb && b < B.length) {
      cb = B[b++];
      vb ^= 1;
    }
    ct += cb;
    step(c, va0, vb0, va, vb, ct === 0);
  }
}

/** Union (or intersection) of RLEs of one size, as maskApi's rleMerge. */
export function mergeRles(rles: readonly Rle[], intersect = false): Rle {
  if (rles.length === 0) return { h: 0, w: 0, counts: new Uint32Array(0) };
  const { h, w } = rles[0];
  if (rles.length === 1) return { h, w, counts: rles[0].counts.slice() };
  let acc = rles[0].counts;
  for (let i = 1; i < rles.length; i++) {
    const B = rles[i];
    if (B.h !== h || B.w !== w) return { h: 0, w: 0, counts: new Uint32Array(0) };
    const A = acc;
    const out = new Uint32Array(A.length + B.counts.length + 1);
    let m = 0;
    let v = 0, cc = 0;
    walkRuns(A, B.counts, (c, _va, _vb, va, vb, last) => {
      cc += c;
      const vp = v;
      v = intersect ? va & vb : va | vb;
      if (v !== vp || last) {
        out[m++] = cc;
        cc = 0;
      }
    });
    acc = out.subarray(0, m);
  }
  return { h, w, counts: acc.slice() };
}

/**
 * Rasterizes one polygon [x1, y1, x2, y2, ...] (pixel coordinates) as maskApi's rleFrPoly:
 * the boundary is traced on a 5x upsampled integer grid, then downsampled to the pixel
 * column crossings.
 */
export function rleFromPolygon(xy: ArrayLike<number>, h: number, w: number): Rle {
  const scale = 5;
  const k = xy.length >> 1;
  const x = new Int32Array(k + 1);
  const y = new Int32Array(k + 1);
  for (let j = 0; j < k; j++) x[j] = Math.trunc(scale * xy[2 * j] + 0.5);
  for (let j = 0; j < k; j++) y[j] = Math.trunc(scale * xy[2 * j + 1] + 0.5);
  x[k] = x[0];
  y[k] = y[0];
  let m = 0;
  for (let j = 0; j < k; j++) m += Math.max(Math.abs(x[j] - x[j + 1]), Math.abs(y[j] - y[j + 1])) + 1;
  const u = new Int32Array(m);
  const v = new Int32Array(m);
  m = 0;
  for (let j = 0; j < k; j++) {
    let xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      let t = xs; xs = xe; xe = t;
      t = ys; ys = ye; ye = t;
    }
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u[m] = t + xs;
        v[m] = Math.trunc(ys + s * t + 0.5);
        m++;
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v[m] = t + ys;
        u[m] = Math.trunc(xs + s * t + 0.5);
        m++;
      }
    }
  }
  // Points where the boundary crosses a pixel column, downsampled to pixel coordinates.
  const n = m;
  const a: number[] = [];
  for (let j = 1; j < n; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + 0.5) / scale - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > h) yd = h;
    yd = Math.ceil(yd);
    a.push((xd * h + yd) >>> 0);
  }
  a.push((h * w) >>> 0);
  const sorted = Uint32Array.from(a).sort();
  // Turn crossing positions into run lengths; a zero-length run merges its neighbours.
  let p = 0;
  for (let j = 0; j < sorted.length; j++) {
    const t = sorted[j];
    sorted[j] -= p;
    p = t;
  }
  const b = new Uint32Array(sorted.length);
  let j = 0;
  let nb = 0;
  b[nb++] = sorted[j++];
  while (j < sorted.length) {
    if (sorted[j] > 0) b[nb++] = sorted[j++];
    else {
      j++;
      if (j < sorted.length) b[nb - 1] += sorted[j++];
    }
  }
  return { h, w, counts: b.slice(0, nb) };
}

/** Rasterizes a box [x, y, w, h] as the reference does (as a 4-point polygon). */
export function rleFromBbox(bb: ArrayLike<number>, h: number, w: number): Rle {
  const xs = bb[0], xe = xs + bb[2], ys = bb[1], ye = ys + bb[3];
  return rleFromPolygon([xs, ys, xs, ye, xe, ye, xe, ys], h, w);
}

/**
 * The union of an instance's polygons, as the reference's annToRLE: several polygons are
 * merged (an inner polygon adds nothing; COCO has no even-odd fill between polygons, so
 * holes need an RLE). Like the reference, refuses a first polygon of fewer than 3 points.
 */
export function rleFromPolygons(polys: readonly ArrayLike<number>[], h: number, w: number): Rle {
  if (polys.length === 0) throw new Error('rleFromPolygons: no polygons');
  if (polys[0].length <= 4) throw new Error(`rleFromPolygons: a polygon needs at least 3 points, got ${polys[0].length} numbers`);
  return mergeRles(polys.map((p) => rleFromPolygon(p, h, w)));
}

/** COCO's compressed counts string (maskApi's rleToString). */
export function rleToString(rle: Rle): string {
  const c = rle.counts;
  const chars = new Uint8Array(7 * c.length); // a 32-bit difference takes at most 7 chars
  let n = 0;
  for (let i = 0; i < c.length; i++) {
    let x = c[i];
    if (i > 2) x -= c[i - 2];
    let more = true;
    while (more) {
      let ch = x & 0x1f;
      x = Math.floor(x / 32); // arithmetic shift right by 5, exact beyond 32 bits
      more = ch & 0x10 ? x !== -1 : x !== 0;
      if (more) ch |= 0x20;
      chars[n++] = ch + 48;
    }
  }
  return Buffer.from(chars.buffer, 0, n).toString('latin1');
}

/** Decodes COCO's compressed counts string (maskApi's rleFrString). */
export function rleFromString(s: string, h: number, w: number): Rle {
  const cnts = new Uint32Array(s.length);
  let m = 0;
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = 1;
    while (more) {
      if (p >= s.length) throw new Error('rleFromString: counts string ends inside a number');
      const c = s.charCodeAt(p) - 48;
      x += (c & 0x1f) * 2 ** (5 * k);
      more = c & 0x20;
      p++;
      k++;
      if (!more && c & 0x10) x -= 2 ** (5 * k); // sign-extend
    }
    if (m > 2) x += cnts[m - 2];
    cnts[m++] = x >>> 0;
  }
  return { h, w, counts: cnts.slice(0, m) };
}

/** Parses COCO's JSON RLE (compressed string or uncompressed counts). */
export function rleFromJson(obj: RleJson): Rle {
  const [h, w] = obj.size;
  if (typeof obj.counts === 'string') return rleFromString(obj.counts, h, w);
  return { h, w, counts: Uint32Array.from(obj.counts) };
}

/** COCO's JSON form with compressed counts. */
export function rleToJson(rle: Rle): { size: [number, number]; counts: string } {
  return { size: [rle.h, rle.w], counts: rleToString(rle) };
}

/**
 * IoU of boxes [x, y, w, h], as maskApi's bbIou: `dt` [D*4], `gt` [G*4], `iscrowd` [G]
 * (for a crowd gt the union is the detection's area). Returns [D*G], row d: out[d*G + g].
 */
export function bboxIou(dt: ArrayLike<number>, gt: ArrayLike<number>, iscrowd?: ArrayLike<number>, out?: Float64Array): Float64Array {
  const D = dt.length >> 2;
  const G = gt.length >> 2;
  const o = out ?? new Float64Array(D * G);
  bboxIouInto(dt, D, gt, G, iscrowd, o);
  return o;
}

/** bboxIou over the first D and G boxes of (possibly larger) buffers, into `out` [D*G]. */
export function bboxIouInto(dt: ArrayLike<number>, D: number, gt: ArrayLike<number>, G: number, iscrowd: ArrayLike<number> | undefined, out: Float64Array): void {
  for (let g = 0; g < G; g++) {
    const gx = gt[4 * g], gy = gt[4 * g + 1], gw = gt[4 * g + 2], gh = gt[4 * g + 3];
    const ga = gw * gh;
    const crowd = iscrowd !== undefined && iscrowd[g] ? 1 : 0;
    for (let d = 0; d < D; d++) {
      const dx = dt[4 * d], dy = dt[4 * d + 1], dw = dt[4 * d + 2], dh = dt[4 * d + 3];
      const da = dw * dh;
      out[d * G + g] = 0;
      const iw = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
      if (iw <= 0) continue;
      const ih = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
      if (ih <= 0) continue;
      const i = iw * ih;
      const u = crowd ? da : da + ga - i;
      out[d * G + g] = i / u;
    }
  }
}

/**
 * IoU of RLE masks, as maskApi's rleIou: boxes first, exact runs where boxes overlap;
 * -1 where sizes differ. Returns [D*G], row d: out[d*G + g].
 */
export function rleIou(dt: readonly Rle[], gt: readonly Rle[], iscrowd?: ArrayLike<number>, out?: Float64Array): Float64Array {
  const D = dt.length;
  const G = gt.length;
  const db = new Float64Array(4 * D);
  const gb = new Float64Array(4 * G);
  for (let d = 0; d < D; d++) db.set(rleToBbox(dt[d]), 4 * d);
  for (let g = 0; g < G; g++) gb.set(rleToBbox(gt[g]), 4 * g);
  const o = bboxIou(db, gb, iscrowd, out);
  for (let g = 0; g < G; g++) {
    const crowd = iscrowd !== undefined && iscrowd[g] ? 1 : 0;
    const B = gt[g].counts;
    for (let d = 0; d < D; d++) {
      if (!(o[d * G + g] > 0)) continue;
      if (dt[d].h !== gt[g].h || dt[d].w !== gt[g].w) {
        o[d * G + g] = -1;
        continue;
      }
      let i = 0, u = 0;
      walkRuns(dt[d].counts, B, (c, va, vb) => {
        if (va || vb) {
          u += c;
          if (va && vb) i += c;
        }
      });
      if (i === 0) u = 1;
      else if (crowd) u = rleArea(dt[d]);
      o[d * G + g] = i / u;
    }
  }
  return o;
}
