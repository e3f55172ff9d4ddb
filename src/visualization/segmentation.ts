/** Drawing semantic-segmentation label maps on images (tsvision demo for segmentation configs). */
import * as fs from 'node:fs';
import sharp from 'sharp';

/**
 * Blends each pixel's class colour over the image, as mmseg's SegLocalVisualizer does
 * (colour * opacity + image * (1 - opacity)); pixels labelled `ignoreIndex` (or beyond the
 * palette) are left as they are. Written through a temporary file renamed into place.
 */
export async function drawSegmentation(
  imagePath: string,
  seg: { labels: Uint8Array; width: number; height: number },
  palette: ReadonlyArray<readonly [number, number, number]>,
  out: string,
  opts: { opacity?: number; ignoreIndex?: number } = {},
): Promise<void> {
  const opacity = opts.opacity ?? 0.5;
  if (!(opacity >= 0 && opacity <= 1)) throw new Error(`drawSegmentation: opacity must be in [0, 1], got ${opacity}`);
  const ignore = opts.ignoreIndex ?? 255;
  const { data, info } = await sharp(imagePath).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const { width: w, height: h } = info;
  if (w !== seg.width || h !== seg.height) throw new Error(`drawSegmentation: a ${seg.width}x${seg.height} label map on a ${w}x${h} image (${imagePath})`);
  const c = info.channels;
  const rgb = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    const l = seg.labels[i];
    const col = l === ignore ? undefined : palette[l];
    for (let k = 0; k < 3; k++) {
      const v = data[i * c + (c >= 3 ? k : 0)];
      rgb[i * 3 + k] = col ? Math.round(col[k] * opacity + v * (1 - opacity)) : v;
    }
  }
  const tmp = `${out}.tmp-${process.pid}.png`;
  try {
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png().toFile(tmp);
    fs.renameSync(tmp, out);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
