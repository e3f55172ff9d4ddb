/**
 * Training checkpoints.
 *
 * Format: ONE safetensors file per checkpoint (`epoch_3.safetensors`, `iter_2000.safetensors`):
 *   state_dict.<key>            the model's parameters and buffers (MMDetection's key layout)
 *   optimizer.<param>.<name>    the optimizer's per-parameter state tensors (momentum_buffer, exp_avg, ...)
 *   rng_state                   libtorch's CPU generator state (uint8; rank 0's in a distributed run)
 *   rng_state.rank<r>           rank r's generator state, for r >= 1 (distributed runs)
 *   __metadata__.tsvision       JSON (CheckpointMeta): epoch/iteration counters, scheduler state,
 *                               the optimizer's groups and numeric state, the resolved config
 * DESIGN.md speaks of a JSON sidecar; we put that JSON in the safetensors header instead, so a
 * checkpoint is a single file written by one atomic rename (saveSafetensors writes a temporary file,
 * fsyncs and renames it): a checkpoint file is either absent or complete, never half-written, and
 * there is no pair of files that a crash could leave out of step. Any safetensors reader still
 * sees the weights under `state_dict.`.
 *
 * `last_checkpoint` in the work dir names the newest checkpoint (MMEngine's file); it is written
 * (atomically) only after the checkpoint it names is complete.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as torch from '../torch';
import type { Tensor } from '../torch';
import type { OptimizerStateDict, SchedulerState } from '../optim';
import type { RunConfig } from '../config/types';
import { writeFileAtomic } from '../config/io';

export const CHECKPOINT_EXT = '.safetensors';
/** The pointer file, as MMEngine names it. */
export const LAST_CHECKPOINT = 'last_checkpoint';
const META_KEY = 'tsvision';
const MODEL_PREFIX = 'state_dict.';
const OPTIM_PREFIX = 'optimizer.';
const RNG_KEY = 'rng_state';

/** Where training is. */
export interface Progress {
  /** Completed epochs (epoch-based), or completed passes over the data (iteration-based). */
  epoch: number;
  /** Completed training iterations, over all epochs. */
  iter: number;
  /** Iterations completed within the current epoch (0 at an epoch's end). */
  innerIter: number;
}

/** The JSON part of a checkpoint. */
export interface CheckpointMeta extends Progress {
  format: 'tsvision-checkpoint/1';
  /** The config name the run was started from. */
  configName: string;
  config: RunConfig;
  optimizer: {
    paramGroups: OptimizerStateDict['paramGroups'];
    /** Numeric per-parameter state (`step`), by parameter index; tensors are in the file. */
    numbers: Record<number, Record<string, number>>;
  };
  schedulers: SchedulerState[];
  /** Processes of the run that saved it (absent in older checkpoints: 1). */
  worldSize?: number;
  /** ISO time of saving. */
  savedAt: string;
}

/** What saveCheckpoint stores. Tensors are read, not taken over. */
export interface CheckpointState extends Progress {
  configName: string;
  config: RunConfig;
  model: Map<string, Tensor>;
  optimizer: OptimizerStateDict;
  schedulers: SchedulerState[];
  /** Every rank's RNG state, by rank (a distributed run); absent: this process's current state. */
  rngStates?: Tensor[];
}

/** What loadCheckpoint returns; the caller owns (and must dispose) the tensors. */
export interface LoadedCheckpoint {
  meta: CheckpointMeta;
  model: Map<string, Tensor>;
  optimizer: OptimizerStateDict;
  rngState: Tensor;
  /** Every rank's RNG state, by rank (one entry for a single-process run; [0] is rngState). */
  rngStates: Tensor[];
}

/** The function that writes a safetensors file atomically (tests swap it to simulate a crash). */
export type SafetensorsWriter = (file: string, tensors: Map<string, Tensor>, metadata: Record<string, string>) => void;

/** Writes one checkpoint file (atomically) holding the model, optimizer, RNG state and counters. */
export function saveCheckpoint(file: string, state: CheckpointState, write: SafetensorsWriter = torch.saveSafetensors): void {
  const tensors = new Map<string, Tensor>();
  for (const [k, t] of state.model) tensors.set(MODEL_PREFIX + k, t);
  const numbers: Record<number, Record<string, number>> = {};
  for (const [index, st] of Object.entries(state.optimizer.state)) {
    for (const [name, v] of Object.entries(st)) {
      if (typeof v === 'number') (numbers[Number(index)] ??= {})[name] = v;
      else tensors.set(`${OPTIM_PREFIX}${index}.${name}`, v);
    }
  }
  const rng = state.rngStates ? undefined : torch.getRngState();
  const rngStates = state.rngStates ?? [rng!];
  rngStates.forEach((t, r) => tensors.set(r === 0 ? RNG_KEY : `${RNG_KEY}.rank${r}`, t));
  const meta: CheckpointMeta = {
    format: 'tsvision-checkpoint/1',
    epoch: state.epoch, iter: state.iter, innerIter: state.innerIter,
    configName: state.configName, config: state.config,
    optimizer: { paramGroups: state.optimizer.paramGroups, numbers },
    schedulers: state.schedulers,
    worldSize: rngStates.length,
    savedAt: new Date().toISOString(),
  };
  try {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    write(file, tensors, { [META_KEY]: JSON.stringify(meta) });
  } finally {
    rng?.dispose();
  }
}

/**
 * The `tsvision` metadata of a checkpoint, checked key by key: a file whose JSON is not what
 * saveCheckpoint writes (hand-edited, truncated, another tool's) is an Error naming the file,
 * the key, the value and what was expected, not a TypeError deep inside resume.
 */
export function parseCheckpointMeta(file: string, json: string): CheckpointMeta {
  const fail = (key: string, value: unknown, expected: string): never => {
    let shown: string;
    try {
      shown = value === undefined ? 'missing' : (JSON.stringify(value) ?? String(value));
    } catch {
      shown = String(value);
    }
    if (shown.length > 80) shown = `${shown.slice(0, 77)}...`;
    throw new Error(`${file}: checkpoint metadata '${META_KEY}.${key}' is ${shown}: expected ${expected} (not a checkpoint written by tsvision train, or damaged)`);
  };
  let meta: unknown;
  try {
    meta = JSON.parse(json);
  } catch (e) {
    throw new Error(`${file}: checkpoint metadata '${META_KEY}' is not valid JSON (${(e as Error).message})`);
  }
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!isObj(meta)) throw new Error(`${file}: checkpoint metadata '${META_KEY}' is ${JSON.stringify(meta)}: expected an object`);
  if (meta.format !== 'tsvision-checkpoint/1') fail('format', meta.format, '"tsvision-checkpoint/1"');
  for (const k of ['epoch', 'iter', 'innerIter'] as const) if (!isCount(meta[k])) fail(k, meta[k], 'an integer >= 0');
  if (typeof meta.configName !== 'string') fail('configName', meta.configName, 'a string');
  if (!isObj(meta.config)) fail('config', meta.config, 'an object (the resolved config)');
  const optimizer = meta.optimizer;
  if (!isObj(optimizer)) return fail('optimizer', optimizer, 'an object with paramGroups and numbers');
  if (!Array.isArray(optimizer.paramGroups)) fail('optimizer.paramGroups', optimizer.paramGroups, 'an array of parameter groups');
  (optimizer.paramGroups as unknown[]).forEach((g, i) => {
    if (!isObj(g)) return fail(`optimizer.paramGroups.${i}`, g, 'an object');
    if (!Array.isArray(g.params) || !g.params.every(isCount)) fail(`optimizer.paramGroups.${i}.params`, g.params, 'an array of parameter indices (integers >= 0)');
  });
  if (!isObj(optimizer.numbers)) fail('optimizer.numbers', optimizer.numbers, 'an object of per-parameter numbers');
  for (const [index, nums] of Object.entries(optimizer.numbers as Record<string, unknown>)) {
    if (!/^(0|[1-9]\d*)$/.test(index)) fail(`optimizer.numbers.${index}`, nums, 'keys that are parameter indices');
    if (!isObj(nums) || !Object.values(nums).every((v) => typeof v === 'number' && Number.isFinite(v))) {
      fail(`optimizer.numbers.${index}`, nums, 'an object of finite numbers');
    }
  }
  if (meta.worldSize !== undefined && !(isCount(meta.worldSize) && meta.worldSize >= 1)) fail('worldSize', meta.worldSize, 'an integer >= 1');
  if (!Array.isArray(meta.schedulers)) return fail('schedulers', meta.schedulers, 'an array of scheduler states');
  meta.schedulers.forEach((st: unknown, i) => {
    const at = `schedulers.${i}`;
    if (!isObj(st)) return fail(at, st, 'an object');
    if (typeof st.type !== 'string') fail(`${at}.type`, st.type, 'a string');
    for (const k of ['lastStep', 'globalStep'] as const) if (typeof st[k] !== 'number' || !Number.isSafeInteger(st[k])) fail(`${at}.${k}`, st[k], 'an integer');
    for (const k of ['baseValues', 'lastValue'] as const) {
      const v = st[k];
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) fail(`${at}.${k}`, v, 'an array of finite numbers');
    }
  });
  return meta as unknown as CheckpointMeta;
}

/** Reads a checkpoint written by saveCheckpoint. */
export function loadCheckpoint(file: string): LoadedCheckpoint {
  const { tensors, metadata } = torch.loadSafetensors(file);
  try {
    const json = metadata[META_KEY];
    if (json === undefined) throw new Error(`${file}: not a tsvision training checkpoint (no '${META_KEY}' metadata); use --load-from for weights only`);
    const meta = parseCheckpointMeta(file, json);
    const model = new Map<string, Tensor>();
    const state: OptimizerStateDict['state'] = {};
    for (const [index, nums] of Object.entries(meta.optimizer.numbers)) state[Number(index)] = { ...nums };
    const rngStates: Tensor[] = [];
    for (const [k, t] of tensors) {
      const rankState = /^rng_state\.rank([1-9]\d*)$/.exec(k);
      if (k.startsWith(MODEL_PREFIX)) model.set(k.slice(MODEL_PREFIX.length), t);
      else if (k === RNG_KEY) rngStates[0] = t;
      else if (rankState) rngStates[Number(rankState[1])] = t;
      else if (k.startsWith(OPTIM_PREFIX)) {
        const rest = k.slice(OPTIM_PREFIX.length);
        const dot = rest.indexOf('.');
        (state[Number(rest.slice(0, dot))] ??= {})[rest.slice(dot + 1)] = t;
      } else throw new Error(`${file}: unexpected tensor '${k}'`);
    }
    if (!rngStates[0]) throw new Error(`${file}: no '${RNG_KEY}' tensor`);
    const worldSize = meta.worldSize ?? 1;
    for (let r = 1; r < Math.max(worldSize, rngStates.length); r++) {
      if (!rngStates[r] || r >= worldSize) throw new Error(`${file}: the RNG states do not match worldSize ${worldSize} (rank ${r}'s is ${rngStates[r] ? 'extra' : 'missing'})`);
    }
    return { meta, model, optimizer: { state, paramGroups: meta.optimizer.paramGroups }, rngState: rngStates[0], rngStates };
  } catch (e) {
    for (const t of tensors.values()) t.dispose();
    throw e;
  }
}

/**
 * Model weights of any checkpoint, for `--load-from`: ours (the `state_dict.` tensors), other
 * safetensors files (all tensors), or PyTorch `.pth` files (MMDetection / torchvision layouts).
 */
export function loadWeights(file: string): Map<string, Tensor> {
  if (!fs.existsSync(file)) throw new Error(`checkpoint not found: ${file}`);
  if (!file.endsWith(CHECKPOINT_EXT)) return torch.loadStateDict(file);
  const { tensors } = torch.loadSafetensors(file);
  if (![...tensors.keys()].some((k) => k.startsWith(MODEL_PREFIX))) return tensors;
  const out = new Map<string, Tensor>();
  for (const [k, t] of tensors) {
    if (k.startsWith(MODEL_PREFIX)) out.set(k.slice(MODEL_PREFIX.length), t);
    else t.dispose();
  }
  return out;
}

const CKPT_NAME = /^(epoch|iter)_(\d+)\.safetensors$/;

/** The periodic checkpoints in a work dir, oldest first (by kind, then number). Temporary files never match. */
export function listCheckpoints(workDir: string): { file: string; kind: 'epoch' | 'iter'; n: number }[] {
  if (!fs.existsSync(workDir)) return [];
  return fs.readdirSync(workDir)
    .map((name) => ({ name, m: CKPT_NAME.exec(name) }))
    .filter((x): x is { name: string; m: RegExpExecArray } => x.m !== null)
    .map(({ name, m }) => ({ file: path.join(workDir, name), kind: m[1] as 'epoch' | 'iter', n: Number(m[2]) }))
    .sort((a, b) => (a.kind === b.kind ? a.n - b.n : a.kind < b.kind ? -1 : 1));
}

/** Records `file` as the newest checkpoint (after it is complete). */
export function writeLastCheckpoint(workDir: string, file: string): void {
  writeFileAtomic(path.join(workDir, LAST_CHECKPOINT), `${path.basename(file)}\n`);
}

/**
 * The checkpoint auto-resume starts from: the one `last_checkpoint` names if it exists,
 * else the newest periodic checkpoint in the work dir; undefined when there is none.
 */
export function findLatestCheckpoint(workDir: string): string | undefined {
  const pointer = path.join(workDir, LAST_CHECKPOINT);
  if (fs.existsSync(pointer)) {
    const name = fs.readFileSync(pointer, 'utf8').trim();
    const file = path.isAbsolute(name) ? name : path.join(workDir, name);
    if (name && fs.existsSync(file)) return file;
  }
  return listCheckpoints(workDir).at(-1)?.file;
}

/** Removes temporary checkpoint files that a killed process left behind (`.<name>.tmp-<pid>-<rand>` of a pid that is gone). */
export function removeStaleTempFiles(workDir: string): string[] {
  if (!fs.existsSync(workDir)) return [];
  const removed: string[] = [];
  for (const name of fs.readdirSync(workDir)) {
    const m = /^\..+\.tmp-(\d+)-[a-z0-9]+$/.exec(name);
    if (!m || isAlive(Number(m[1]))) continue;
    try {
      fs.unlinkSync(path.join(workDir, name));
      removed.push(name);
    } catch { /* another process may have removed it */ }
  }
  return removed;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How many keys of each kind a StateDictMismatchError lists (the counts are always complete). */
const MAX_LISTED_KEYS = 10;

/** A checkpoint whose keys or shapes do not fit the model; names the checkpoint file and the keys. */
export class StateDictMismatchError extends Error {
  override name = 'StateDictMismatchError';
  constructor(
    readonly file: string,
    readonly missingKeys: string[],
    readonly unexpectedKeys: string[],
    /** `key: checkpoint has shape [...], the model has [...]`, one per key. */
    readonly mismatchedKeys: string[],
    message: string,
  ) {
    super(message);
  }
}

function capped(keys: string[]): string {
  return keys.length > MAX_LISTED_KEYS ? `${keys.slice(0, MAX_LISTED_KEYS).join(', ')}, ... (${keys.length - MAX_LISTED_KEYS} more)` : keys.join(', ');
}

function describeKeys(missing: string[], unexpected: string[], mismatched: string[]): string[] {
  const lines: string[] = [];
  if (missing.length > 0) lines.push(`missing keys (${missing.length}): ${capped(missing)}`);
  if (unexpected.length > 0) lines.push(`unexpected keys (${unexpected.length}): ${capped(unexpected)}`);
  if (mismatched.length > 0) lines.push(`shape mismatches (${mismatched.length}): ${mismatched.slice(0, MAX_LISTED_KEYS).join('; ')}${mismatched.length > MAX_LISTED_KEYS ? `; ... (${mismatched.length - MAX_LISTED_KEYS} more)` : ''}`);
  return lines;
}

/** What a model must offer to loadModelWeights (a Module, a ModelWrapper). */
export interface WeightsTarget {
  stateDict(): Map<string, Tensor>;
  loadStateDict(source: Map<string, Tensor>, opts?: { strict?: boolean; dryRun?: boolean }): { missingKeys: string[]; unexpectedKeys: string[] };
}

export interface LoadModelWeightsOptions {
  /**
   * true (default): any missing or unexpected key or shape mismatch throws a StateDictMismatchError
   * and nothing is loaded. false: the keys whose names and shapes match are loaded, the rest
   * reported through `log`; a checkpoint that matches no parameter still throws.
   */
  strict?: boolean;
  /** The checkpoint's file name, for messages. */
  file?: string;
  /** Where a non-strict load reports what it skipped. */
  log?: (line: string) => void;
}

export interface LoadModelWeightsResult {
  loadedKeys: string[];
  missingKeys: string[];
  unexpectedKeys: string[];
  mismatchedKeys: string[];
}

/**
 * The one way tsvision puts a checkpoint's weights into a model (test, infer, demo, benchmark,
 * the detection API and training's loadFrom). Nothing is copied when it throws.
 */
export function loadModelWeights(model: WeightsTarget, sd: Map<string, Tensor>, opts: LoadModelWeightsOptions = {}): LoadModelWeightsResult {
  const strict = opts.strict ?? true;
  const file = opts.file ?? '<state dict>';
  const own = model.stateDict();
  const mismatchedKeys: string[] = [];
  const usable = new Map<string, Tensor>();
  for (const [key, t] of sd) {
    const mine = own.get(key);
    if (mine && (mine.shape.length !== t.shape.length || mine.shape.some((s, i) => s !== t.shape[i]))) {
      mismatchedKeys.push(`${key}: checkpoint has shape [${t.shape.join(', ')}], the model has [${mine.shape.join(', ')}]`);
    } else usable.set(key, t);
  }
  const { missingKeys, unexpectedKeys } = model.loadStateDict(usable, { strict: false, dryRun: true });
  const unexpected = new Set(unexpectedKeys);
  const loadedKeys = [...usable.keys()].filter((k) => own.has(k) && !unexpected.has(k));
  const paramCount = own.size;
  if (loadedKeys.length === 0) {
    const shapes = mismatchedKeys.length > 0 ? `\n  shape mismatches (${mismatchedKeys.length}): ${mismatchedKeys.slice(0, MAX_LISTED_KEYS).join('; ')}` : '';
    throw new StateDictMismatchError(file, missingKeys, unexpectedKeys, mismatchedKeys,
      `${file}: none of its ${sd.size} keys (${capped([...sd.keys()])}) is a key of the model (${capped([...own.keys()])}) with the same shape; ` +
      `nothing would be loaded, even non-strict (for ImageNet backbone weights use the config's model.backbone.initCfg ({type: "Pretrained", checkpoint, prefix}))${shapes}`);
  }
  if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0 || mismatchedKeys.length > 0)) {
    throw new StateDictMismatchError(file, missingKeys, unexpectedKeys, mismatchedKeys,
      [`${file}: the checkpoint does not fit the model (strict loading; to load only the ${loadedKeys.length} of ${paramCount} tensors that match, use --no-strict, or strict: false in the API)`,
        ...describeKeys(missingKeys, unexpectedKeys, mismatchedKeys).map((l) => `  ${l}`)].join('\n'));
  }
  model.loadStateDict(usable, { strict: false });
  if (opts.log) {
    const lines = describeKeys(missingKeys, unexpectedKeys, mismatchedKeys);
    opts.log(`Loaded ${loadedKeys.length} of the model's ${paramCount} tensors from ${file}${lines.length ? `; not loaded: ${lines.join('; ')}` : ''}`);
  }
  return { loadedKeys, missingKeys, unexpectedKeys, mismatchedKeys };
}
