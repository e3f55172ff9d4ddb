/** `tsvision train CONFIG`: trains a config with the runner (logs, checkpoints, validation, resume). */
import * as fs from 'node:fs';
import { buildRunner } from '../../engine';
import { numberOption, parseCommandArgs, UsageError, type Command } from '../command';
import { expandCfgOptions, loadConfigArg } from '../config_args';

const help = `Usage: tsvision train CONFIG [--work-dir DIR] [--resume [CKPT]] [--load-from CKPT] [--cfg-options KEY=VALUE ...] [--seed S] [--auto-scale-lr]

Trains CONFIG (a config file, e.g. configs/toy/mlp_regression.ts, or a name under configs/,
e.g. toy/mlp_regression). Writes into the work dir: checkpoints (epoch_N.safetensors or
iter_N.safetensors, and last_checkpoint), and per run a folder <timestamp>/ with the resolved
config (config.json), the log (run.log) and the logged values as JSON lines (scalars.jsonl).

Options:
  --work-dir DIR       where to write (default: the config's workDir, else work_dirs/<config name>)
  --resume [CKPT]      resume training (model, optimizer, schedules, RNG, counters) from CKPT,
                       or without CKPT from the latest checkpoint in the work dir (if any)
  --load-from CKPT     start from these weights (ours, safetensors or PyTorch .pth; non-strict)
  --cfg-options K=V    override config keys, e.g. optimWrapper.optimizer.lr=0.01 train.maxEpochs=24
                       (values parse as JSON where they can, else as strings)
  --seed S             the run's seed (the same as --cfg-options seed=S)
  --auto-scale-lr      scale the lr by (images per batch) / autoScaleLr.baseBatchSize, as MMEngine
                       (the detection configs' lr 0.02 is for 16 images: 8 GPUs × 2)
  --quiet              no console output (the log files are still written)`;

/** `--resume` takes a value only when the next word is a checkpoint file (CONFIG may follow it). */
function expandResume(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (argv[i] === '--resume' && next !== undefined && /\.(safetensors|pth)$/.test(next)) {
      out.push(`--resume-from=${next}`);
      i++;
    } else if (argv[i].startsWith('--resume=')) {
      out.push(`--resume-from=${argv[i].slice('--resume='.length)}`);
    } else {
      out.push(argv[i]);
    }
  }
  return out;
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a config (checkpoints, logs, validation, --resume)',
  help,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('train', expandResume(expandCfgOptions(argv)), {
      'work-dir': { type: 'string' },
      resume: { type: 'boolean' },
      'resume-from': { type: 'string' },
      'load-from': { type: 'string' },
      'cfg-options': { type: 'string', multiple: true },
      seed: { type: 'string' },
      'auto-scale-lr': { type: 'boolean' },
      quiet: { type: 'boolean' },
    });
    if (positionals.length !== 1) throw new UsageError(`train: expected one CONFIG, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
    const overrides = [...((values['cfg-options'] as string[] | undefined) ?? [])];
    if (values.seed !== undefined) overrides.push(`seed=${numberOption('train', 'seed', values.seed as string, 0, { integer: true, min: 0 })}`);
    if (typeof values['work-dir'] === 'string') overrides.push(`workDir=${JSON.stringify(values['work-dir'])}`);
    if (values['auto-scale-lr'] === true) overrides.push('autoScaleLr.enable=true');
    if (typeof values['load-from'] === 'string') overrides.push(`loadFrom=${JSON.stringify(values['load-from'])}`);
    for (const flag of ['resume-from', 'load-from'] as const) {
      const file = values[flag];
      if (typeof file === 'string' && !fs.existsSync(file)) throw new UsageError(`train: --${flag === 'resume-from' ? 'resume' : flag}: checkpoint not found: ${file}`);
    }
    const loaded = loadConfigArg('train', positionals[0], overrides);
    const resume = typeof values['resume-from'] === 'string' ? values['resume-from'] : values.resume === true;
    const runner = buildRunner(loaded, { mode: 'train', resume, quiet: values.quiet === true });
    await runner.train();
    return 0;
  },
};
