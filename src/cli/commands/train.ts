/**
 * `tsvision train CONFIG`: trains a config with the runner (logs, checkpoints, validation, resume),
 * in one process, as one rank of a distributed run (RANK / WORLD_SIZE in the environment), or as
 * the launcher of this node's ranks (`--nproc-per-node N`).
 */
import * as fs from 'node:fs';
import { buildRunner } from '../../engine';
import { DEFAULT_TIMEOUT_MS } from '../../distributed';
import { numberOption, parseCommandArgs, UsageError, type Command } from '../command';
import { expandCfgOptions, loadConfigArg } from '../config_args';
import { CLI_SCRIPT, DISTRIBUTED_OPTIONS, launch, launchOptions, runAsRank, stripLauncherFlags } from '../launcher';

const help = `Usage: tsvision train CONFIG [--work-dir DIR] [--resume [CKPT]] [--load-from CKPT] [--cfg-options KEY=VALUE ...] [--seed S] [--auto-scale-lr]
                      [--nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P]] [--dist-timeout SECONDS]

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
  --quiet              no console output (the log files are still written)

Distributed training (data-parallel over CPU processes, Gloo):
  --nproc-per-node N   start N training processes on this node (a torchrun-like launcher): each
                       trains on its shard of the data; the config's batch size is per process, so
                       the total batch is N × nnodes × batchSize, and --auto-scale-lr scales by it
  --nnodes M           nodes in the job (default 1); start the launcher on every node
  --node-rank R        this node's index, 0 to M - 1 (default 0); ranks are R × N + local rank
  --master-addr A      address of node 0, which serves the rendezvous (default 127.0.0.1)
  --master-port P      its port (default 29500)
  --dist-timeout S     seconds a rendezvous or collective may wait (default 1800): a rank that
                       dies makes the others fail at once, one that hangs makes them fail after S
  Without --nproc-per-node, a process whose environment has WORLD_SIZE > 1 and RANK (set by
  torchrun, Slurm or Kubernetes launchers, with MASTER_ADDR and MASTER_PORT) joins the process
  group from env:// and trains as that rank. Rank 0 alone prints, writes the run folder and
  saves checkpoints; every rank resumes from the checkpoint rank 0 picks (--resume). If one
  process fails, the launcher stops the others and exits 1 naming the rank; Ctrl-C stops all.`;

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
      ...DISTRIBUTED_OPTIONS,
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
    numberOption('train', 'dist-timeout', values['dist-timeout'] as string | undefined, DEFAULT_TIMEOUT_MS / 1000, { min: 0.001 }); // checked before launching
    const launcher = launchOptions('train', values);
    const loaded = loadConfigArg('train', positionals[0], overrides);
    if (launcher) return launch('tsvision train', CLI_SCRIPT, ['train', ...stripLauncherFlags(argv)], { ...launcher, quiet: values.quiet === true });
    const resume = typeof values['resume-from'] === 'string' ? values['resume-from'] : values.resume === true;
    return runAsRank('train', values['dist-timeout'] as string | undefined, async () => {
      await buildRunner(loaded, { mode: 'train', resume, quiet: values.quiet === true }).train();
      return 0;
    });
  },
};
