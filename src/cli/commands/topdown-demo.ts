/**
 * `tsvision topdown-demo IMAGE DETCONFIG DETCKPT POSECONFIG POSECKPT`: MMPose's
 * demo/topdown_demo_with_mmdet.py: person boxes from a detector, keypoints of each from a top-down
 * pose estimator, drawn (--out) and/or printed (--json).
 */
import * as path from 'node:path';
import { inferTopdownWithDetector } from '../../apis/pose';
import { drawPoses } from '../../visualization/pose';
import { loadConfigArg } from '../config_args';
import { numberOption, parseCommandArgs, UsageError, type Command } from '../command';

const HELP = `Usage: tsvision topdown-demo IMAGE DETCONFIG DETCKPT POSECONFIG POSECKPT [--out OUT.png] [--json]
                             [--det-cat-id ID] [--bbox-thr T] [--nms-thr T] [--kpt-thr T] [--no-strict]

MMPose's topdown_demo_with_mmdet: runs the detector of DETCONFIG with DETCKPT on IMAGE, keeps its
boxes of category --det-cat-id scoring above --bbox-thr, thins them with MMPose's box nms
(--nms-thr), then runs the top-down pose estimator of POSECONFIG with POSECKPT on each box (as
tsvision infer --bboxes). With no person box left, the whole image is one box, as MMPose's
inference_topdown does. Configs are files or names under configs/; checkpoints are ours
(.safetensors) or the original toolbox's .pth.

Options:
  --out OUT.png     draw the boxes and skeletons (COCO's 19 links, MMPose's colours) into OUT.png
  --json            print one JSON array on stdout: one COCO keypoint result per kept box, highest
                    box score first (image_id 0, category_id 1, keypoints [x, y, score] x 17,
                    bbox [x, y, w, h], bbox_score, score = bbox_score x mean keypoint score > 0.2)
  --det-cat-id ID   the person's category id in the detector's results (default 1, COCO's person)
  --bbox-thr T      keep boxes scoring above T (default 0.3)
  --nms-thr T       box nms IoU threshold (default 0.3)
  --kpt-thr T       draw keypoints (and links) scoring at least T (default 0.3)
  --no-strict       load only the checkpoints' tensors that fit the models (names and shapes) and
                    list the rest on stderr`;

export const topdownDemoCommand: Command = {
  name: 'topdown-demo',
  summary: 'person detector + top-down pose estimator on one image (MMPose\'s topdown_demo_with_mmdet)',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('topdown-demo', argv, {
      out: { type: 'string' }, json: { type: 'boolean' }, 'det-cat-id': { type: 'string' }, 'bbox-thr': { type: 'string' },
      'nms-thr': { type: 'string' }, 'kpt-thr': { type: 'string' }, 'no-strict': { type: 'boolean' },
    });
    if (positionals.length !== 5) throw new UsageError('topdown-demo: expected IMAGE DETCONFIG DETCKPT POSECONFIG POSECKPT');
    if (!values.out && !values.json) throw new UsageError('topdown-demo: nothing to do; give --out OUT.png and/or --json');
    const detCatId = numberOption('topdown-demo', 'det-cat-id', values['det-cat-id'] as string | undefined, 1, { integer: true, min: 0 });
    const bboxThr = numberOption('topdown-demo', 'bbox-thr', values['bbox-thr'] as string | undefined, 0.3);
    const nmsThr = numberOption('topdown-demo', 'nms-thr', values['nms-thr'] as string | undefined, 0.3);
    const kptThr = numberOption('topdown-demo', 'kpt-thr', values['kpt-thr'] as string | undefined, 0.3);
    const [image, detConfig, detCheckpoint, poseConfig, poseCheckpoint] = positionals;
    const { persons, poses } = await inferTopdownWithDetector({
      detConfig: loadConfigArg('topdown-demo', detConfig, []), detCheckpoint,
      poseConfig: loadConfigArg('topdown-demo', poseConfig, []), poseCheckpoint,
      image, detCatId, bboxThr, nmsThr, strict: values['no-strict'] !== true,
    });
    if (values.out) await drawPoses(image, poses, path.resolve(values.out as string), { kptThr });
    if (values.json) process.stdout.write(`${JSON.stringify(poses)}\n`);
    const what = `${persons.length} person box${persons.length === 1 ? '' : 'es'} (category ${detCatId}, score > ${bboxThr}), ${poses.length} skeleton${poses.length === 1 ? '' : 's'}`;
    if (values.json) console.error(`topdown-demo: ${what}${values.out ? ` drawn into ${values.out}` : ''}`);
    else console.log(`topdown-demo: ${what} drawn into ${values.out}`);
    return 0;
  },
};
