/**
 * LoggerHook: every `interval` iterations, the mean of each logged value over the
 * interval (loss terms, lr, time, data_time) plus memory and ETA, to
 *   - the terminal: a progress bar on stderr when it is a TTY, plain lines on stdout otherwise;
 *   - `<runDir>/run.log`: the same lines, always;
 *   - `<runDir>/scalars.jsonl`: one JSON object per line (MMEngine's vis_data/scalars.json),
 *     `{"mode":"train","epoch":1,"iter":20,"lr":0.01,"loss":0.5,...}` and `{"mode":"val",...metrics}`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as torch from '../torch';
import type { Runner } from './runner';
import type { Hook, IterInfo } from './hooks';

/**
 * Memory in MB: on a GPU the peak allocated since the last call (the peak is then reset,
 * as MMEngine's logger does), on CPU the process's resident set.
 */
export function memoryMb(onCuda: boolean): number {
  if (!onCuda) return Math.round(process.memoryUsage().rss / 2 ** 20);
  const peak = torch.cuda.maxMemoryAllocated();
  torch.cuda.resetPeakMemoryStats();
  return Math.round(peak / 2 ** 20);
}

/** `1:02:03` (h:mm:ss), or `2 days, 1:02:03`. */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400);
  const hms = `${Math.floor((s % 86400) / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  return d > 0 ? `${d} day${d > 1 ? 's' : ''}, ${hms}` : hms;
}

function fmt(key: string, v: number): string {
  if (key === 'lr') return v.toExponential(4);
  return Number.isInteger(v) ? String(v) : v.toFixed(4);
}

export class LoggerHook implements Hook {
  readonly name = 'LoggerHook';
  private sums: Record<string, number> = {};
  private count = 0;
  /** Iterations timed in this process (for the ETA) and their total seconds. */
  private timedIters = 0;
  private timedSeconds = 0;
  private readonly tty: boolean;

  constructor(readonly interval: number, opts: { tty?: boolean } = {}) {
    if (!(Number.isInteger(interval) && interval >= 1)) throw new Error(`hooks.logger.interval: expected a positive integer, got ${interval}`);
    this.tty = opts.tty ?? Boolean(process.stderr.isTTY);
  }

  afterTrainIter(runner: Runner, info: IterInfo): void {
    const values: Record<string, number> = { lr: info.lr, time: info.time, data_time: info.dataTime, ...info.log, ...info.comm };
    for (const [k, v] of Object.entries(values)) this.sums[k] = (this.sums[k] ?? 0) + v;
    this.count++;
    // The first iteration (start-up, first batch) would skew the ETA.
    if (this.count > 1 || this.timedIters > 0) {
      this.timedIters++;
      this.timedSeconds += info.time;
    }
    const { epoch, iter, innerIter } = runner.progress;
    const epochLength = runner.epochLength;
    const endOfEpoch = runner.byEpoch && epochLength !== undefined && innerIter === epochLength;
    if (iter % this.interval !== 0 && !endOfEpoch && iter !== runner.maxIters) {
      if (this.tty) this.bar(runner);
      return;
    }
    const mean: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.sums)) mean[k] = v / this.count;
    this.sums = {};
    this.count = 0;
    const eta = this.eta(runner);
    const memory = memoryMb(runner.onCuda);
    // Called before the runner counts the epoch as done: this iteration belongs to epoch `epoch + 1` (1-based).
    const record = { mode: 'train', epoch: runner.byEpoch ? epoch + 1 : undefined, iter, ...mean, memory, eta };
    runner.writeScalars(record);
    const where = runner.byEpoch
      ? `Epoch(train) [${epoch + 1}][${String(innerIter).padStart(String(epochLength ?? '').length)}/${epochLength ?? '?'}]`
      : `Iter(train) [${String(iter).padStart(String(runner.maxIters ?? '').length)}/${runner.maxIters}]`;
    const parts = Object.entries(mean).map(([k, v]) => `${k}: ${fmt(k, v)}`);
    const line = `${where}  eta: ${formatEta(eta)}  ${parts.join('  ')}  memory: ${memory}`;
    runner.logLine(line, { console: !this.tty });
    if (this.tty) this.bar(runner, mean.loss);
  }

  afterValEpoch(runner: Runner, metrics: Record<string, number>): void {
    const { epoch, iter } = runner.progress;
    runner.writeScalars({ mode: 'val', epoch: runner.byEpoch ? epoch : undefined, iter, ...metrics });
    const where = runner.byEpoch ? `Epoch(val) [${epoch}]` : `Iter(val) [${iter}]`;
    runner.logLine(`${where}  ${summaryMetrics(metrics).map(([k, v]) => `${k}: ${fmt(k, v)}`).join('  ')}`);
  }

  afterRun(runner: Runner): void {
    if (!this.tty) return;
    this.bar(runner);
    process.stderr.write('\n');
  }

  /** Seconds left, from the mean iteration time so far in this process. */
  private eta(runner: Runner): number {
    if (this.timedIters === 0) return 0;
    const total = runner.totalIters;
    return total === undefined ? 0 : ((total - runner.progress.iter) * this.timedSeconds) / this.timedIters;
  }

  private lastLoss: number | undefined;

  /** One line on stderr, rewritten in place: `[#####.....] 120/500 loss 0.4321 eta 0:01:02`. */
  private bar(runner: Runner, loss?: number): void {
    if (loss !== undefined) this.lastLoss = loss;
    const total = runner.totalIters;
    const done = runner.progress.iter;
    const width = 30;
    const filled = total ? Math.min(width, Math.round((done / total) * width)) : 0;
    const lossText = this.lastLoss === undefined ? '' : ` loss ${this.lastLoss.toFixed(4)}`;
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total ?? '?'}${lossText} eta ${formatEta(this.eta(runner))}\x1b[K`);
  }
}

/** Appends lines to a file, creating its folder. */
export class LineFile {
  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  }
  append(line: string): void {
    fs.appendFileSync(this.file, `${line}\n`);
  }
}

/**
 * The metrics a console line shows: names of the form `<metric>.<item>` (a '.' right after a
 * letter: per-class `IoU.road` of segmentation, 150 of them on ADE20K) are per-item details that go
 * to scalars.jsonl and metrics.json only; names like MMPose's `coco/AP .5` are shown.
 */
export function summaryMetrics(metrics: Record<string, number>): [string, number][] {
  return Object.entries(metrics).filter(([k]) => !/[A-Za-z]\.[^\d]/.test(k));
}
