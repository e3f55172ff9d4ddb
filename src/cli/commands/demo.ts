/** `tsvision demo IMAGE CONFIG CHECKPOINT --out OUT.png`: draws a detector's output on an image. */
import * as path from 'node:path';
import { asDetectionConfig, inferImage, loadDetector } from '../../apis/detection';
import { asSegmentationConfig, inferSegmentation, isSegmentationConfig, loadSegmentor } from '../../apis/segmentation';
import { drawDetections } from '../../visualization/detection';
import { drawSegmentation } from '../../visualization/segmentation';
import { expandCfgOptions, loadConfigArg } from '../config_args';
import { parseCommandArgs, UsageError, type Command } from '../command';

const HELP = `Usage: tsvision demo IMAGE CONFIG CHECKPOINT --out OUT.png [--score-thr T] [--no-strict]

Draws the detections of CONFIG with CHECKPOINT on IMAGE (boxes, class names, scores; masks of mask models) into
OUT.png. For a semantic-segmentation config, the predicted label map is blended over the image in
the dataset's palette (mmseg's Cityscapes / ADE20K / VOC colours).

Options:
  --out OUT.png      output file (required)
  --score-thr T      draw detections scoring at least T (default 0.3)
  --opacity A        segmentation: the palette's weight over the image (default 0.5)
  --no-strict        load only CHECKPOINT's tensors that fit the model (names and shapes) and list
                     the rest on stderr (default: strict, any misfit is an error); a checkpoint
                     that fits nothing is still an error`;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'draw a detector\'s detections or a segmentor\'s label map on an image',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('demo', expandCfgOptions(argv), { out: { type: 'string' }, 'score-thr': { type: 'string' }, opacity: { type: 'string' }, 'no-strict': { type: 'boolean' } });
    if (positionals.length !== 3) throw new UsageError('demo: expected IMAGE CONFIG CHECKPOINT');
    if (!values.out) throw new UsageError('demo: --out OUT.png is required');
    const thr = values['score-thr'] === undefined ? 0.3 : Number(values['score-thr']);
    if (!Number.isFinite(thr)) throw new UsageError(`demo: --score-thr expects a number, got '${values['score-thr']}'`);
    const [image, configArg, checkpoint] = positionals;
    const loaded = loadConfigArg('demo', configArg, []);
    if (isSegmentationConfig(loaded)) {
      const opacity = values.opacity === undefined ? 0.5 : Number(values.opacity);
      if (!(opacity >= 0 && opacity <= 1)) throw new UsageError(`demo: --opacity expects a number in [0, 1], got '${values.opacity}'`);
      const seg = loadSegmentor(asSegmentationConfig(loaded, 'demo'), checkpoint, { strict: values['no-strict'] !== true });
      try {
        const result = await inferSegmentation(seg, image);
        await drawSegmentation(image, result, seg.palette, path.resolve(values.out as string), { opacity });
        console.log(`demo: label map (${seg.classes.length} classes) drawn into ${values.out}`);
      } finally {
        seg.model.dispose();
      }
      return 0;
    }
    const detector = loadDetector(asDetectionConfig(loaded, 'demo'), checkpoint, { strict: values['no-strict'] !== true });
    try {
      const results = await inferImage(detector, image);
      await drawDetections(image, results, detector.classNames, path.resolve(values.out as string), thr);
      console.log(`demo: ${results.filter((r) => r.score >= thr).length} detections drawn into ${values.out}`);
    } finally {
      detector.model.dispose();
    }
    return 0;
  },
};
