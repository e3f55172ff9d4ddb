/**
 * `tsvision infer CONFIG --checkpoint CKPT --image IMG [--json] [--out FILE]`: detections for one
 * image, for a semantic-segmentation config its label map written to --out, for a top-down pose
 * config the keypoints of each person box of --bboxes.
 */
import { asDetectionConfig, inferImage, loadDetector } from '../../apis/detection';
import { asSegmentationConfig, inferSegmentation, isSegmentationConfig, loadSegmentor, writeLabelPng } from '../../apis/segmentation';
import { asPoseConfig, disposePoseEstimator, inferTopdown, isPoseConfig, loadPoseEstimator, readPersonBoxes, type PoseResult } from '../../apis/pose';
import { COCO_KEYPOINTS } from '../../data/synthetic/people';
import { expandCfgOptions, loadConfigArg } from '../config_args';
import { parseCommandArgs, UsageError, type Command } from '../command';

const HELP = `Usage: tsvision infer CONFIG --checkpoint CKPT --image IMG [--json] [--score-thr T] [--out PRED.png]
                      [--bboxes BOXES.json] [--no-strict] [--cfg-options K=V ...]

Runs the detector of CONFIG (a config file or a name under configs/, e.g.
faster_rcnn/faster-rcnn_r50_fpn_1x_coco or torchvision/fasterrcnn_resnet50_fpn) with the
weights in CKPT (ours .safetensors, or a PyTorch .pth: MMDetection layout, or torchvision's
for torchvision configs) on one image, and prints its detections in COCO results format:
image_id 0, category_id (the dataset's category id; torchvision's label index for torchvision
configs), bbox [x, y, w, h] in original-image pixels, score.

Semantic-segmentation configs (e.g. fcn/fcn_r18-d8_shapes-seg): --out PRED.png is
required and receives the label map: a single-channel 8-bit PNG of class indices at the input's
size. With --json, one object {"out", "width", "height", "pixels": {class: count}} is printed.

Top-down pose configs (e.g. td-hm/td-hm_res18_people-192x160): MMPose's inference_topdown. Each
person box of --bboxes BOXES.json (COCO results [{"bbox": [x, y, w, h], "score": s}, ...], other
fields ignored, or plain boxes [[x, y, w, h], ...]; without --bboxes, or with an empty list, the
whole image is one box) goes through the config's test pipeline and flip test; --json prints one
array with one COCO keypoint result per box, in box order: image_id 0, category_id 1, keypoints
[x, y, score] x 17 in original-image pixels, bbox (as given), bbox_score (the box's score, 1 when
absent) and score = bbox_score x the mean keypoint score above 0.2 (MMPose's CocoMetric rescoring).

Options:
  --checkpoint CKPT   weights to load (required); every key must fit the model
  --no-strict         load only the checkpoint's tensors that fit the model (names and shapes)
                      and list the rest on stderr; a checkpoint that fits nothing is still an error
  --image IMG         image file: JPEG, PNG or WebP (required)
  --json              print exactly one JSON array on stdout
  --score-thr T       drop detections scoring below T (default 0: all)
  --out PRED.png      semantic segmentation: where the label map is written (required there)
  --bboxes BOXES.json top-down pose: the person boxes
  --cfg-options K=V   override config keys`;

export const inferCommand: Command = {
  name: 'infer',
  summary: 'detections (COCO results), a label map, or keypoints of person boxes for one image',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('infer', expandCfgOptions(argv), {
      checkpoint: { type: 'string' }, image: { type: 'string' }, json: { type: 'boolean' },
      'score-thr': { type: 'string' }, out: { type: 'string' }, 'cfg-options': { type: 'string', multiple: true }, 'no-strict': { type: 'boolean' },
      bboxes: { type: 'string' },
    });
    if (positionals.length !== 1) throw new UsageError('infer: expected one CONFIG argument');
    if (!values.checkpoint) throw new UsageError('infer: --checkpoint CKPT is required');
    if (!values.image) throw new UsageError('infer: --image IMG is required');
    const thr = values['score-thr'] === undefined ? 0 : Number(values['score-thr']);
    if (!Number.isFinite(thr)) throw new UsageError(`infer: --score-thr expects a number, got '${values['score-thr']}'`);
    const loaded = loadConfigArg('infer', positionals[0], (values['cfg-options'] as string[] | undefined) ?? []);
    if (isPoseConfig(loaded)) {
      if (values.out !== undefined) throw new UsageError('infer: --out applies to semantic-segmentation configs; keypoint results go to stdout (--json)');
      if (values['score-thr'] !== undefined) throw new UsageError('infer: --score-thr applies to detection configs; a pose config gives one result per box of --bboxes');
      const boxes = values.bboxes === undefined ? undefined : readPersonBoxes(values.bboxes as string);
      const pose = loadPoseEstimator(asPoseConfig(loaded, 'infer'), values.checkpoint as string, { strict: values['no-strict'] !== true });
      try {
        const results = await inferTopdown(pose, values.image as string, boxes, { bboxFormat: 'xywh' });
        if (values.json) process.stdout.write(`${JSON.stringify(results)}\n`);
        else printPoses(values.image as string, results);
      } finally {
        disposePoseEstimator(pose);
      }
      return 0;
    }
    if (values.bboxes !== undefined) throw new UsageError('infer: --bboxes applies to top-down pose configs');
    if (isSegmentationConfig(loaded)) {
      if (!values.out) throw new UsageError('infer: --out PRED.png is required for a semantic-segmentation config (the label map is written there)');
      const seg = loadSegmentor(asSegmentationConfig(loaded, 'infer'), values.checkpoint as string, { strict: values['no-strict'] !== true });
      try {
        const result = await inferSegmentation(seg, values.image as string);
        await writeLabelPng(result, values.out as string);
        const counts = new Map<string, number>();
        for (const l of result.labels) {
          const name = seg.classes[l] ?? String(l);
          counts.set(name, (counts.get(name) ?? 0) + 1);
        }
        if (values.json) {
          process.stdout.write(`${JSON.stringify({ out: values.out, width: result.width, height: result.height, pixels: Object.fromEntries(counts) })}\n`);
        } else {
          console.log(`label map of ${values.image} (${result.width}x${result.height}) written to ${values.out}`);
          for (const [name, n] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`  ${name.padEnd(16)} ${(100 * n / result.labels.length).toFixed(1)}%`);
        }
      } finally {
        seg.model.dispose();
      }
      return 0;
    }
    if (values.out !== undefined) throw new UsageError('infer: --out applies to semantic-segmentation configs; detection results go to stdout (--json)');
    const cfg = asDetectionConfig(loaded, 'infer');
    const detector = loadDetector(cfg, values.checkpoint as string, { strict: values['no-strict'] !== true });
    try {
      const results = (await inferImage(detector, values.image as string)).filter((r) => r.score >= thr);
      if (values.json) {
        process.stdout.write(`${JSON.stringify(results)}\n`);
      } else {
        console.log(`${results.length} detections in ${values.image}`);
        for (const r of results) {
          const name = detector.classNames.get(r.category_id) ?? String(r.category_id);
          console.log(`  ${name.padEnd(12)} ${r.score.toFixed(3)}  [${r.bbox!.map((v) => v.toFixed(1)).join(', ')}]`);
        }
      }
    } finally {
      detector.model.dispose();
    }
    return 0;
  },
};

/** A readable listing: each person's box, scores and keypoints. */
function printPoses(image: string, results: PoseResult[]): void {
  console.log(`${results.length} person${results.length === 1 ? '' : 's'} in ${image}`);
  results.forEach((r, i) => {
    console.log(`  #${i}  box [${r.bbox.map((v) => v.toFixed(1)).join(', ')}]  box score ${r.bbox_score.toFixed(3)}  score ${r.score.toFixed(3)}`);
    for (let k = 0; k < r.keypoints.length / 3; k++) {
      const [x, y, s] = r.keypoints.slice(3 * k, 3 * k + 3);
      console.log(`      ${(COCO_KEYPOINTS[k] ?? String(k)).padEnd(15)} (${x.toFixed(1)}, ${y.toFixed(1)})  ${s.toFixed(3)}`);
    }
  });
}
