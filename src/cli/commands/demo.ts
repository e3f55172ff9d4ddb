/** `tsvision demo IMAGE CONFIG CHECKPOINT --out OUT.png`: draws a detector's, segmentor's or pose estimator's output on an image. */
import * as path from 'node:path';
import { asDetectionConfig, inferImage, loadDetector } from '../../apis/detection';
import { asSegmentationConfig, inferSegmentation, isSegmentationConfig, loadSegmentor } from '../../apis/segmentation';
import { drawDetections } from '../../visualization/detection';
import { drawSegmentation } from '../../visualization/segmentation';
import { asPoseConfig, disposePoseEstimator, inferTopdown, isPoseConfig, loadPoseEstimator, readPersonBoxes } from '../../apis/pose';
import { drawPoses } from '../../visualization/pose';
import { expandCfgOptions, loadConfigArg } from '../config_args';
import { numberOption, parseCommandArgs, UsageError, type Command } from '../command';

const HELP = `Usage: tsvision demo IMAGE CONFIG CHECKPOINT --out OUT.png [--score-thr T] [--opacity A] [--bboxes BOXES.json]
                     [--kpt-thr T] [--no-strict]

Draws the detections of CONFIG with CHECKPOINT on IMAGE (boxes, class names, scores; masks of mask models) into
OUT.png. For a semantic-segmentation config, the predicted label map is blended over the image in
the dataset's palette (mmseg's Cityscapes / ADE20K / VOC colours). For a top-down pose config, the
skeleton of each person box of --bboxes (as tsvision infer's; default: the whole image) is drawn:
COCO's 19 links and the keypoints scoring at least --kpt-thr, in MMPose's colours, and the boxes.
(For boxes from a detector, see tsvision topdown-demo.)

Options:
  --out OUT.png      output file (required)
  --score-thr T      draw detections scoring at least T (default 0.3)
  --opacity A        segmentation: the palette's weight over the image (default 0.5)
  --bboxes BOXES.json  pose: person boxes, COCO results [{"bbox": [x, y, w, h], "score"}] or [[x, y, w, h], ...]
  --kpt-thr T        pose: draw keypoints (and their links) scoring at least T (default 0.3)
  --no-strict        load only CHECKPOINT's tensors that fit the model (names and shapes) and list
                     the rest on stderr (default: strict, any misfit is an error); a checkpoint
                     that fits nothing is still an error`;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'draw a detector\'s detections, a segmentor\'s label map or a pose estimator\'s skeletons on an image',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('demo', expandCfgOptions(argv), { out: { type: 'string' }, 'score-thr': { type: 'string' }, opacity: { type: 'string' }, 'no-strict': { type: 'boolean' },
      bboxes: { type: 'string' }, 'kpt-thr': { type: 'string' },
    });
    if (positionals.length !== 3) throw new UsageError('demo: expected IMAGE CONFIG CHECKPOINT');
    if (!values.out) throw new UsageError('demo: --out OUT.png is required');
    const thr = values['score-thr'] === undefined ? 0.3 : Number(values['score-thr']);
    if (!Number.isFinite(thr)) throw new UsageError(`demo: --score-thr expects a number, got '${values['score-thr']}'`);
    const [image, configArg, checkpoint] = positionals;
    const loaded = loadConfigArg('demo', configArg, []);
    if (isPoseConfig(loaded)) {
      const kptThr = numberOption('demo', 'kpt-thr', values['kpt-thr'] as string | undefined, 0.3);
      const boxes = values.bboxes === undefined ? undefined : readPersonBoxes(values.bboxes as string);
      const pose = loadPoseEstimator(asPoseConfig(loaded, 'demo'), checkpoint, { strict: values['no-strict'] !== true });
      try {
        const results = await inferTopdown(pose, image, boxes, { bboxFormat: 'xywh' });
        await drawPoses(image, results, path.resolve(values.out as string), { kptThr });
        console.log(`demo: ${results.length} skeleton${results.length === 1 ? '' : 's'} drawn into ${values.out}`);
      } finally {
        disposePoseEstimator(pose);
      }
      return 0;
    }
    if (values.bboxes !== undefined || values['kpt-thr'] !== undefined) throw new UsageError('demo: --bboxes and --kpt-thr apply to top-down pose configs');
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
