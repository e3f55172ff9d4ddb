/**
 * MMDetection's `init_cfg=dict(type='Pretrained', checkpoint=..., prefix=...)`: resolve the
 * checkpoint name (urls.ts), fetch it into the cache (download.ts), read its state dict and load it
 * into a module.
 *
 * Reading follows MMEngine's `_load_checkpoint` / `_load_checkpoint_with_prefix`: the state dict is
 * the file's top level or the dict under `state_dict` / `model` (.pth, see
 * src/torch/serialization/pth.ts), `module.` (DataParallel) is stripped, and with a prefix only the
 * keys under it are kept, prefix removed. Our safetensors training checkpoints keep the weights under
 * `state_dict.`; plain safetensors files are a state dict as they are.
 *
 * Loading is stricter than MMEngine's (which only warns): every key the module has must be in the
 * file (BatchNorm's `num_batches_tracked` may be absent, as in old torchvision files), shapes must
 * agree, and only keys the module lacks (torchvision's classifier `fc.*`) are ignored — reported
 * through `log` and returned.
 */
import * as path from 'node:path';
import type { Tensor } from '../torch';
import { loadSafetensors, loadStateDict } from '../torch/serialization';
import type { Module } from '../nn';
import type { PretrainedInitCfg } from '../models/init_cfg';
import { fetchCheckpoint, type FetchOptions } from './download';
import { resolveCheckpoint } from './urls';

/** MMDetection's Pretrained init_cfg, as a model config carries it. */
export type PretrainedInit = PretrainedInitCfg;

export interface LoadPretrainedOptions extends FetchOptions {
  /** Renames each checkpoint key (after the prefix is removed) before matching; null drops it (checkpoint converters). */
  keyMap?: (key: string) => string | null;
}

export interface PretrainedLoadResult {
  /** The location init.checkpoint resolved to (URL or path). */
  location: string;
  /** The local file read. */
  file: string;
  /** Module keys that received a value from the file. */
  loadedKeys: string[];
  /** Keys of the file (after prefix and keyMap) that the module lacks; ignored. */
  ignoredKeys: string[];
}

/**
 * Loads the pretrained weights `init` names into `module` (in place, strictly; see the file comment).
 * Every tensor read from the file is freed before this returns, whether it succeeds or throws.
 */
export async function loadPretrained(module: Module, init: PretrainedInit, opts: LoadPretrainedOptions = {}): Promise<PretrainedLoadResult> {
  if (init.type !== 'Pretrained') throw new Error(`loadPretrained: init_cfg type must be 'Pretrained', got '${String(init.type)}'`);
  const location = resolveCheckpoint(init.checkpoint);
  const file = await fetchCheckpoint(location, opts);
  const where = `pretrained ${init.checkpoint}${location !== init.checkpoint ? ` (${location})` : ''}, file ${file}`;
  const log = opts.log ?? (opts.quiet ? () => {} : (line: string) => process.stderr.write(`${line}\n`));

  let tensors: Map<string, Tensor>;
  try {
    tensors = readStateDict(file);
  } catch (e) {
    throw new Error(`${where}: ${oneLine(e)}`);
  }
  try {
    const source = new Map<string, Tensor>();
    const prefix = init.prefix ? (init.prefix.endsWith('.') ? init.prefix : `${init.prefix}.`) : '';
    for (const [key, t] of tensors) {
      if (!key.startsWith(prefix)) continue;
      const k = opts.keyMap ? opts.keyMap(key.slice(prefix.length)) : key.slice(prefix.length);
      if (k !== null) source.set(k, t);
    }
    if (prefix && source.size === 0) {
      const heads = [...new Set([...tensors.keys()].map((k) => `${k.split('.')[0]}.`))].slice(0, 10);
      throw new Error(`${where}: no keys under prefix '${prefix}' (the file's keys start with ${heads.join(', ')})`);
    }

    const own = module.stateDict();
    const ignoredKeys = [...source.keys()].filter((k) => !own.has(k));
    for (const k of ignoredKeys) source.delete(k);
    try {
      module.loadStateDict(source, { strict: true });
    } catch (e) {
      throw new Error(`${where}: ${oneLine(e)}`);
    }
    if (ignoredKeys.length > 0) {
      log(`${where}: ignored ${ignoredKeys.length} key(s) the ${module.constructor.name} lacks: ${ignoredKeys.join(', ')}`);
    }
    return { location, file, loadedKeys: [...source.keys()], ignoredKeys };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/** The state dict of a .pth or .safetensors file, unwrapped; the caller owns the tensors. */
function readStateDict(file: string): Map<string, Tensor> {
  if (path.extname(file).toLowerCase() !== '.safetensors') return loadStateDict(file);
  const all = loadSafetensors(file).tensors;
  const wrapped = [...all.keys()].some((k) => k.startsWith('state_dict.'));
  const out = new Map<string, Tensor>();
  for (const [k, t] of all) {
    if (wrapped && !k.startsWith('state_dict.')) {
      t.dispose(); // optimizer state, rng state of a training checkpoint
      continue;
    }
    const key = wrapped ? k.slice('state_dict.'.length) : k;
    out.set(key.startsWith('module.') ? key.slice('module.'.length) : key, t);
  }
  return out;
}

/** An error's message on one line (Module.loadStateDict lists keys on separate lines). */
function oneLine(e: unknown): string {
  return ((e as Error)?.message ?? String(e)).replace(/\s*\n\s*/g, '; ');
}
