/** `tsvision test CONFIG CHECKPOINT`: evaluates a checkpoint on the config's validation/test set. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../config';
import { buildRunner } from '../../engine';
import { DEFAULT_TIMEOUT_MS } from '../../distributed';
import { numberOption, parseCommandArgs, UsageError, type Command } from '../command';
import { expandCfgOptions, loadConfigArg } from '../config_args';
import { CLI_SCRIPT, DISTRIBUTED_OPTIONS, launch, launchOptions, runAsRank, stripLauncherFlags } from '../launcher';
import { formatPerClassTable } from '../../tasks/segmentation/task';

const help = `Usage: tsvision test CONFIG CHECKPOINT [--eval METRICS] [--out RESULTS.json] [--tta] [--no-strict] [--work-dir DIR] [--cfg-options KEY=VALUE ...]
                     [--nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P]] [--dist-timeout SECONDS]

Loads CHECKPOINT's weights (ours, safetensors or PyTorch .pth) into CONFIG's model, strictly
(every key of the model, no other key, same shapes; else an error listing the keys), runs it
over the config's validation set and prints the metrics. The run's folder in the work dir
gets the resolved config, the log and metrics.json. Semantic-segmentation configs report aAcc,
mIoU, mAcc and per-class IoU / Acc (keys IoU.CLASS, Acc.CLASS in metrics.json), and print the
per-class table (percent) on stdout.

Options:
  --eval METRICS       metrics to compute, comma-separated (default: the config's), e.g. bbox,segm
                       (segmentation: mIoU, mDice, mFscore)
  --out RESULTS.json   write the raw results (e.g. COCO results) as JSON
  --no-strict          load only the checkpoint's tensors that fit the model and log the rest;
                       a checkpoint that fits nothing is still an error
  --tta                test-time augmentation as the config's \`tta\` section says: detection
                       (scales, flip, merge NMS; e.g. rpn/rpn_r18_fpn_shapes), segmentation (image
                       ratios, flip, mean of the softmax; default mmseg's 0.5-1.75 with flip)
  --work-dir DIR       where the run's folder goes (default: the config's workDir, else work_dirs/<config name>)
  --cfg-options K=V    override config keys (as for train)
  --json               print the metrics as one JSON object
  --quiet              no log lines on the console

Distributed testing (MMDetection's dist_test.sh): --nproc-per-node N and the other launcher flags
as for \`tsvision train\` (see its --help), or torchrun's RANK / WORLD_SIZE / MASTER_ADDR /
MASTER_PORT in the environment. Each rank predicts its share of the set (every image once); rank 0
gathers the results one rank at a time, evaluates, prints and writes metrics.json and --out.`;

export const testCommand: Command = {
  name: 'test',
  summary: 'evaluate a checkpoint on the config\'s validation set (--eval, --out)',
  help,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('test', expandCfgOptions(argv), {
      eval: { type: 'string', multiple: true },
      out: { type: 'string' },
      'work-dir': { type: 'string' },
      'cfg-options': { type: 'string', multiple: true },
      json: { type: 'boolean' },
      tta: { type: 'boolean' },
      quiet: { type: 'boolean' },
      'no-strict': { type: 'boolean' },
      ...DISTRIBUTED_OPTIONS,
    });
    if (positionals.length !== 2) throw new UsageError(`test: expected CONFIG and CHECKPOINT, got ${positionals.length === 0 ? 'nothing' : positionals.join(' ')}`);
    const [configArg, checkpoint] = positionals;
    if (!fs.existsSync(checkpoint)) throw new UsageError(`test: checkpoint not found: ${checkpoint}`);
    const overrides = [...((values['cfg-options'] as string[] | undefined) ?? [])];
    if (typeof values['work-dir'] === 'string') overrides.push(`workDir=${JSON.stringify(values['work-dir'])}`);
    const metrics = (values.eval as string[] | undefined)?.flatMap((m) => m.split(',')).map((m) => m.trim()).filter(Boolean);
    if (metrics && metrics.length === 0) throw new UsageError('test: --eval expects metric names, e.g. --eval bbox,segm');
    numberOption('test', 'dist-timeout', values['dist-timeout'] as string | undefined, DEFAULT_TIMEOUT_MS / 1000, { min: 0.001 }); // checked before launching
    const launcher = launchOptions('test', values);
    const loaded = loadConfigArg('test', configArg, overrides);
    if (launcher) return launch('tsvision test', CLI_SCRIPT, ['test', ...stripLauncherFlags(argv)], { ...launcher, quiet: values.quiet === true });
    return runAsRank('test', values['dist-timeout'] as string | undefined, async () => {
      const runner = buildRunner(loaded, { mode: 'test', metrics, tta: values.tta === true, quiet: values.quiet === true || values.json === true });
      const { metrics: result, results } = await runner.test(checkpoint, { strict: values['no-strict'] !== true });
      if (!runner.isMain) return 0; // rank 0 reports
      writeFileAtomic(path.join(runner.runDir!, 'metrics.json'), `${JSON.stringify(result, null, 2)}\n`);
      if (typeof values.out === 'string') writeFileAtomic(values.out, JSON.stringify(results ?? result));
      if (values.json === true) console.log(JSON.stringify(result));
      else if (loaded.task.name === 'segmentation') console.log(segmentationSummary(result));
      return 0;
    });
  },
};

/** A segmentation test's per-class table and summary line, in percent as mmseg prints them. */
function segmentationSummary(m: Record<string, number>): string {
  const rows = Object.keys(m).filter((k) => k.startsWith('IoU.')).map((k) => {
    const name = k.slice(4);
    return { class: name, IoU: m[k], Acc: m[`Acc.${name}`] };
  });
  const pct = (v: number) => (Number.isFinite(v) ? (v * 100).toFixed(2) : 'nan');
  return `${formatPerClassTable(rows)}\naAcc ${pct(m.aAcc)}  mIoU ${pct(m.mIoU)}  mAcc ${pct(m.mAcc)}`;
}
