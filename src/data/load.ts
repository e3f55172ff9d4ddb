/**
 * LoadImage + LoadAnnotations: turns a dataset record into a typed Sample. The image is
 * only probed here (header); pixels are decoded by the first transform that needs them.
 */
import sharp from 'sharp';
import { decodeRle, rasterizePolygons, type InstanceMasks } from '../structures/masks';
import type { FileBackend } from './backends';
import { AnnotationError, type DataInfo, type SegMapOptions } from './datasets/dataset';
import { ImageDecodeError, ensureDecoded, imageSize } from './image';
import { readLabelPng } from './png';
import type { Sample } from './sample';

export interface LoadOptions {
  /** Channel order of decoded images. */
  order?: 'rgb' | 'bgr';
  /** How label-map values become class indices (segmentation datasets). */
  segMap?: SegMapOptions;
}

/** Builds the Sample for `info`, reading its files through `backend`. */
export async function loadSample(info: DataInfo, backend: FileBackend, opts: LoadOptions = {}): Promise<Sample> {
  const bytes = await backend.get(info.imgPath);
  const { width, height } = await imageSize(bytes, info.imgPath);
  checkImageSize(info, width, height);
  const order = opts.order ?? 'rgb';
  const sample: Sample = {
    img: { data: new Uint8Array(0), width, height, channels: 3, layout: 'hwc', order },
    pending: { bytes, path: info.imgPath, flop: false, interpolation: 'bilinear' },
    meta: {
      imgId: info.imgId,
      imgPath: info.imgPath,
      oriShape: [height, width],
      imgShape: [height, width],
      padShape: [height, width],
      scaleFactor: [1, 1],
      flip: false,
      flipDirection: null,
    },
    targets: {
      boxes: Float32Array.from(info.boxes),
      labels: Int32Array.from(info.labels),
    },
  };
  const t = sample.targets;
  if (info.boxScore !== undefined) t.boxScores = Float32Array.of(info.boxScore);
  if (info.instanceId !== undefined) sample.meta.instanceId = info.instanceId;
  if (info.ignoreBoxes) t.ignoreBoxes = Float32Array.from(info.ignoreBoxes);
  if (info.masks) t.masks = loadMasks(info.masks, height, width);
  if (info.keypoints) {
    t.keypoints = Float32Array.from(info.keypoints);
    t.numKeypoints = info.numKeypoints ?? 17;
  }
  if (info.segMapPath) t.segMap = await loadSegMap(await backend.get(info.segMapPath), info.segMapPath, width, height, opts.segMap ?? {});
  return sample;
}

/**
 * The record's width/height (the annotation file's) must be the decoded file's: annotations,
 * RLE masks and evaluation are in the annotation's pixels. 0 means "not known" (label-map datasets).
 */
export function checkImageSize(info: Pick<DataInfo, 'imgId' | 'imgPath' | 'width' | 'height'>, width: number, height: number): void {
  if (!(info.width > 0 && info.height > 0)) return;
  if (info.width !== width || info.height !== height) {
    throw new AnnotationError(info.imgPath, `image id ${info.imgId}`,
      `the annotation gives its size as ${info.width}x${info.height} (width x height), the file is ${width}x${height}`);
  }
}

/** Polygons stay polygons; if any instance is an RLE, all become bitmaps (one form per sample). */
function loadMasks(masks: NonNullable<DataInfo['masks']>, height: number, width: number): InstanceMasks {
  if (masks.every((m) => Array.isArray(m))) {
    return { kind: 'polygons', height, width, polygons: (masks as number[][][]).map((ps) => ps.map((p) => Float32Array.from(p))) };
  }
  const hw = height * width;
  const data = new Uint8Array(masks.length * hw);
  masks.forEach((m, i) => {
    const dst = data.subarray(i * hw, (i + 1) * hw);
    if (Array.isArray(m)) rasterizePolygons(m, height, width, dst);
    else dst.set(decodeRle(m));
  });
  return { kind: 'bitmaps', height, width, data, count: masks.length };
}

/**
 * Decodes a label-map PNG and maps its values to class indices. Greyscale and palette PNGs
 * give their raw values (palette indices, not colours: PIL's 'unchanged' reading); other
 * images (RGB label maps) their first channel, through sharp.
 */
export async function loadSegMap(bytes: Uint8Array, file: string, width: number, height: number, opts: SegMapOptions): Promise<Uint8Array> {
  let values: Uint8Array | Uint16Array, w: number, h: number;
  const png = readLabelPng(bytes, file);
  if (png) {
    ({ data: values, width: w, height: h } = png);
  } else {
    let out: { data: Buffer; info: sharp.OutputInfo };
    try {
      out = await sharp(bytes, { failOn: 'truncated' }).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    } catch (err) {
      throw new ImageDecodeError(file, err);
    }
    ({ data: values, info: { width: w, height: h } } = out);
  }
  if (w !== width || h !== height) {
    throw new ImageDecodeError(file, new Error(`label map is ${w}x${h}, its image ${width}x${height}`));
  }
  // 8-bit values from readLabelPng are a fresh array, rewritten in place; sharp's Buffer is
  // copied into a plain Uint8Array
  const map = png && values instanceof Uint8Array ? values : new Uint8Array(values.length);
  if (opts.labelMap) {
    const lut = new Uint8Array(values instanceof Uint16Array ? 65536 : 256).fill(255);
    for (const [k, v] of Object.entries(opts.labelMap)) lut[Number(k)] = v;
    for (let i = 0; i < map.length; i++) map[i] = lut[values[i]];
  } else {
    const big = values instanceof Uint16Array ? values.findIndex((v) => v > 255) : -1;
    if (big >= 0) throw new ImageDecodeError(file, new Error(`label value ${values[big]} does not fit 8 bits and no labelMap maps it`));
    if (map !== values) map.set(values);
  }
  if (opts.reduceZeroLabel) {
    for (let i = 0; i < map.length; i++) map[i] = map[i] === 0 || map[i] === 255 ? 255 : map[i] - 1;
  }
  return map;
}

/** Makes sure a finished sample has decoded pixels (the pipeline may have ended on geometry only). */
export async function finishSample(sample: Sample): Promise<Sample> {
  await ensureDecoded(sample);
  return sample;
}
