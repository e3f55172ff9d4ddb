/** `tsvision demo IMAGE CONFIG CHECKPOINT --out OUT.png`: draws a detector's output on an image. */
import * as path from 'node:path';
import { asDetectionConfig, inferImage, loadDetector } from '../../apis/detection';
import { drawDetections } from '../../visualization/detection';
import { expandCfgOptions, loadConfigArg } from '../config_args';
import { parseCommandArgs, UsageError, type Command } from '../command';

const HELP = `Usage: tsvision demo IMAGE CONFIG CHECKPOINT --out OUT.png [--score-thr T] [--no-strict]

Draws the detections of CONFIG with CHECKPOINT on IMAGE (boxes, class names, scores; masks of mask models) into
OUT.png.

Options:
  --out OUT.png      output file (required)
  --score-thr T      draw detections scoring at least T (default 0.3)
  --no-strict        load only CHECKPOINT's tensors that fit the model (names and shapes) and list
                     the rest on stderr (default: strict, any misfit is an error); a checkpoint
                     that fits nothing is still an error`;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'draw a detector\'s detections on an image',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('demo', expandCfgOptions(argv), { out: { type: 'string' }, 'score-thr': { type: 'string' }, 'no-strict': { type: 'boolean' } });
    if (positionals.length !== 3) throw new UsageError('demo: expected IMAGE CONFIG CHECKPOINT');
    if (!values.out) throw new UsageError('demo: --out OUT.png is required');
    const thr = values['score-thr'] === undefined ? 0.3 : Number(values['score-thr']);
    if (!Number.isFinite(thr)) throw new UsageError(`demo: --score-thr expects a number, got '${values['score-thr']}'`);
    const [image, configArg, checkpoint] = positionals;
    const detector = loadDetector(asDetectionConfig(loadConfigArg('demo', configArg, []), 'demo'), checkpoint, { strict: values['no-strict'] !== true });
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
