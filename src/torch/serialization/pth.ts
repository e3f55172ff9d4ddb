/**
 * Reads PyTorch `.pth` / `.pt` files written by torch.save (torch >= 1.6 zip format) without Python:
 * `<archive>/data.pkl` is unpickled, `('storage', StorageType, key, location, numel)` persistent ids
 * load `<archive>/data/<key>` once per key, and `torch._utils._rebuild_tensor_v2` views them with
 * as_strided semantics. Dicts become plain objects (Maps when a key is not a string), lists and
 * tuples arrays, sets Sets, bytes Uint8Arrays, big ints bigints; instances of classes we do not model
 * (numpy, mmengine, argparse, ...) become `{ __class__: 'module.Name', args, state }` placeholders.
 */
import * as fs from 'node:fs';
import { Tensor, type Device } from '../tensor';
import { fromBytes } from '../creation';
import { DTYPE_SIZE, type DType } from '../dtype';
import { Unpickler, PyDict, PyGlobal, PyObject, PySet, describe } from './pickle';
import { ZipReader, isZipFile } from './zip';

export interface LoadPthOptions {
  /** Move every tensor to this device (the file's storage locations are ignored; default: cpu). */
  device?: Device;
}

/** A placeholder for an instance of a class tsvision does not model. */
export interface PickledObject {
  __class__: string;
  args: unknown[];
  state: unknown;
  /** Items set on a dict subclass. */
  items?: unknown;
  /** Items appended to a list subclass. */
  list?: unknown[];
}

const STORAGE_DTYPE: Record<string, DType> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8',
  ByteStorage: 'uint8', BoolStorage: 'bool', UntypedStorage: 'uint8',
};

const TORCH_DTYPE: Record<string, DType> = {
  float32: 'float32', float: 'float32', float64: 'float64', double: 'float64', float16: 'float16', half: 'float16',
  bfloat16: 'bfloat16', int64: 'int64', long: 'int64', int32: 'int32', int: 'int32', int16: 'int16', short: 'int16',
  int8: 'int8', uint8: 'uint8', bool: 'bool',
};

/** A storage referenced by a persistent id, read from the archive on first use. */
class StorageRef {
  /** 1-D tensors over the storage's bytes, by dtype. */
  readonly bases = new Map<DType, Tensor>();
  constructor(readonly key: string, readonly dtype: DType, readonly nbytes: number) {}
}

const LEGACY_HINT = 're-save it with torch>=1.6: torch.save(torch.load(f), g, _use_new_zipfile_serialization=True)';

/** Loads a torch.save file: the unpickled object with tensors as Tensors. */
export function loadPth(file: string, opts: LoadPthOptions = {}): unknown {
  checkFormat(file);
  const zip = new ZipReader(file);
  const created: Tensor[] = [];
  try {
    const result = new PthLoader(zip, file, opts, created).load();
    // Tensors made along the way that the result does not hold (storage bases, dropped values) go now.
    for (const t of created) if (!result.tensors.has(t)) t.dispose();
    return result.value;
  } catch (e) {
    for (const t of created) t.dispose();
    throw e;
  } finally {
    zip.close();
  }
}

function checkFormat(file: string): void {
  const fd = fs.openSync(file, 'r');
  let head: Buffer;
  try {
    head = Buffer.alloc(512);
    head = head.subarray(0, fs.readSync(fd, head, 0, 512, 0));
  } finally {
    fs.closeSync(fd);
  }
  if (isZipFile(head)) return;
  if (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar') {
    throw new Error(`${file}: this is PyTorch's legacy tar checkpoint format (torch < 0.4), which tsvision cannot read; ${LEGACY_HINT}`);
  }
  if (head.length >= 2 && head[0] === 0x80 && head[1] <= 5) {
    throw new Error(`${file}: this is PyTorch's legacy (non-zip) checkpoint format, written by torch < 1.6 or with ` +
      `_use_new_zipfile_serialization=False, which tsvision cannot read; ${LEGACY_HINT}`);
  }
  throw new Error(`${file}: not a PyTorch checkpoint (expected the zip archive torch.save writes${head.length === 0 ? '; the file is empty' : ''})`);
}

class PthLoader {
  private prefix: string;
  private storages = new Map<string, StorageRef>();

  constructor(private zip: ZipReader, private file: string, private opts: LoadPthOptions, private created: Tensor[]) {
    const pkl = [...zip.entries.keys()].find((n) => n === 'data.pkl' || /^[^/]+\/data\.pkl$/.test(n));
    if (pkl === undefined) {
      throw new Error(`${file}: zip archive has no data.pkl; not a torch.save checkpoint (TorchScript archives and others are not supported)`);
    }
    this.prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
    const bo = `${this.prefix}byteorder`;
    if (zip.has(bo)) {
      const order = Buffer.from(zip.read(bo)).toString('latin1').trim();
      if (order !== 'little') throw new Error(`${file}: byte order '${order}' is not supported (only little-endian checkpoints)`);
    }
  }

  load(): { value: unknown; tensors: Set<Tensor> } {
    const pkl = this.zip.read(`${this.prefix}data.pkl`);
    const up = new Unpickler(pkl, this.file, {
      persistentLoad: (pid) => this.persistentLoad(pid),
      callGlobal: (g, args) => this.callGlobal(g, args),
    });
    const raw = up.load();
    const tensors = new Set<Tensor>();
    const value = this.finish(raw, new Map(), tensors);
    return { value, tensors };
  }

  private fail(msg: string): never {
    throw new Error(`${this.file}: ${msg}`);
  }

  private persistentLoad(pid: unknown): StorageRef {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) {
      this.fail(`unsupported persistent id ${JSON.stringify(pid, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
    }
    const [, type, key, , numel] = pid as [string, unknown, unknown, unknown, unknown];
    const typeName = type instanceof PyGlobal ? type.name : String(type);
    const dtype = STORAGE_DTYPE[typeName];
    if (dtype === undefined) this.fail(`storage type ${describe(type)} is not supported (supported: ${Object.keys(STORAGE_DTYPE).join(', ')})`);
    if (typeof numel !== 'number') this.fail(`storage '${key}' has a bad size`);
    const k = String(key);
    let ref = this.storages.get(k);
    if (!ref) {
      ref = new StorageRef(k, dtype, numel * DTYPE_SIZE[dtype]);
      this.storages.set(k, ref);
    }
    return ref;
  }

  /** A 1-D tensor over a storage's bytes, read as `dtype` (read from the archive once per dtype). */
  private base(ref: StorageRef, dtype: DType): Tensor {
    let t = ref.bases.get(dtype);
    if (t) return t;
    const name = `${this.prefix}data/${ref.key}`;
    const bytes = this.zip.read(name);
    if (bytes.length < ref.nbytes) this.fail(`storage '${ref.key}' holds ${bytes.length} bytes, ${ref.nbytes} expected`);
    const n = Math.floor(ref.nbytes / DTYPE_SIZE[dtype]);
    t = fromBytes(bytes.subarray(0, n * DTYPE_SIZE[dtype]), dtype, [n]);
    this.created.push(t);
    ref.bases.set(dtype, t);
    return t;
  }

  private rebuildTensor(args: unknown[], dtypeOverride?: DType): Tensor {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof StorageRef)) this.fail(`_rebuild_tensor expects a storage, got ${describe(storage)}`);
    const ints = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => Number.isSafeInteger(x));
    if (!ints(size) || !ints(stride) || size.length !== stride.length || typeof offset !== 'number') {
      this.fail(`_rebuild_tensor got bad size/stride/offset for storage '${storage.key}'`);
    }
    const dtype = dtypeOverride ?? storage.dtype;
    const base = this.base(storage, dtype);
    const numel = Math.floor(storage.nbytes / DTYPE_SIZE[dtype]);
    if (!size.includes(0)) {
      let last = offset;
      for (let i = 0; i < size.length; i++) last += (size[i] - 1) * stride[i];
      if (offset < 0 || last >= numel || stride.some((s) => s < 0)) {
        this.fail(`tensor view (offset ${offset}, size [${size}], stride [${stride}]) lies outside storage '${storage.key}' of ${numel} elements`);
      }
    }
    const view = base.asStrided(size, stride, offset);
    let t: Tensor;
    try {
      t = view.contiguous();
    } finally {
      view.dispose();
    }
    this.created.push(t);
    if (this.opts.device && this.opts.device !== 'cpu') {
      const moved = t.to(this.opts.device);
      this.created.push(moved);
      t = moved;
    }
    if (args[4] === true) t.requiresGrad_(true);
    return t;
  }

  private callGlobal(g: PyGlobal, args: unknown[]): unknown {
    switch (g.fullName) {
      case 'torch._utils._rebuild_tensor_v2':
      case 'torch._utils._rebuild_tensor':
        return this.rebuildTensor(args);
      case 'torch._utils._rebuild_tensor_v3': { // (storage, offset, size, stride, requires_grad, hooks, dtype, metadata)
        const d = args[6] instanceof PyGlobal ? TORCH_DTYPE[args[6].name] : undefined;
        if (!d) this.fail(`_rebuild_tensor_v3 with unsupported dtype ${describe(args[6])}`);
        return this.rebuildTensor(args, d);
      }
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state':
      case 'torch.nn.parameter.Parameter': {
        const [data, requiresGrad] = args;
        if (data instanceof Tensor && requiresGrad !== false && !data.requiresGrad) data.requiresGrad_(true);
        return data;
      }
      case 'torch._utils._rebuild_from_type_v2':
      case 'torch._tensor._rebuild_from_type_v2': { // (func, new_type, args, state): the subclass is dropped
        const [fn, , fargs] = args;
        if (!(fn instanceof PyGlobal)) return undefined;
        const r = this.callGlobal(fn, Array.isArray(fargs) ? fargs : []);
        return r === undefined ? new PyObject(fn.fullName, Array.isArray(fargs) ? fargs : []) : r;
      }
      case 'collections.OrderedDict':
      case 'builtins.dict': {
        const d = new PyDict();
        const items = args[0];
        if (Array.isArray(items)) for (const kv of items) if (Array.isArray(kv) && kv.length === 2) d.map.set(kv[0], kv[1]);
        if (items instanceof PyDict) for (const [k, v] of items.map) d.map.set(k, v);
        return d;
      }
      case 'builtins.set': case 'builtins.frozenset': case '__builtin__.set': case '__builtin__.frozenset':
        return new PySet(Array.isArray(args[0]) ? [...args[0]] : args[0] instanceof PySet ? [...args[0].values] : []);
      case 'builtins.list': case 'builtins.tuple': case 'torch.Size':
        return Array.isArray(args[0]) ? [...args[0]] : [];
      case '_codecs.encode': // protocol 2 pickles bytes as _codecs.encode(str, 'latin1')
        if (typeof args[0] === 'string') return new Uint8Array(Buffer.from(args[0], args[1] === 'utf-8' || args[1] === 'utf8' ? 'utf8' : 'latin1'));
        return undefined;
      case 'builtins.bytearray': case 'builtins.bytes':
        if (args.length === 0) return new Uint8Array(0);
        if (args[0] instanceof Uint8Array) return args[0];
        if (typeof args[0] === 'string') return new Uint8Array(Buffer.from(args[0], 'latin1'));
        return undefined;
      case 'torch.device':
        return typeof args[1] === 'number' ? `${String(args[0])}:${args[1]}` : String(args[0]);
      case 'copyreg._reconstructor': case 'copy_reg._reconstructor': { // (cls, base, state)
        const o = new PyObject(args[0] instanceof PyGlobal ? args[0].fullName : describe(args[0]), []);
        o.state = args[2] ?? null;
        return o;
      }
      case 'numpy.core.multiarray.scalar': case 'numpy._core.multiarray.scalar':
        return numpyScalar(args);
    }
    return undefined;
  }

  /** Turns the unpickled graph into plain JavaScript values, keeping shared references shared. */
  private finish(v: unknown, seen: Map<unknown, unknown>, tensors: Set<Tensor>): unknown {
    if (v === null || typeof v !== 'object') return v;
    if (v instanceof Tensor) {
      tensors.add(v);
      return v;
    }
    if (v instanceof Uint8Array) return v;
    const done = seen.get(v);
    if (done !== undefined) return done;
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      seen.set(v, out);
      for (const x of v) out.push(this.finish(x, seen, tensors));
      return out;
    }
    if (v instanceof PyDict) {
      if ([...v.map.keys()].every((k) => typeof k === 'string')) {
        const out: Record<string, unknown> = {};
        seen.set(v, out);
        for (const [k, x] of v.map) Object.defineProperty(out, k as string, { value: this.finish(x, seen, tensors), enumerable: true, writable: true, configurable: true });
        return out;
      }
      const out = new Map<unknown, unknown>();
      seen.set(v, out);
      for (const [k, x] of v.map) out.set(this.finish(k, seen, tensors), this.finish(x, seen, tensors));
      return out;
    }
    if (v instanceof PySet) {
      const out = new Set<unknown>();
      seen.set(v, out);
      for (const x of v.values) out.add(this.finish(x, seen, tensors));
      return out;
    }
    if (v instanceof PyObject) {
      const out: PickledObject = { __class__: v.cls, args: [], state: null };
      seen.set(v, out);
      out.args = this.finish(v.args, seen, tensors) as unknown[];
      out.state = this.finish(v.state, seen, tensors);
      if (v.items) out.items = this.finish(v.items, seen, tensors);
      if (v.list) out.list = this.finish(v.list, seen, tensors) as unknown[];
      return out;
    }
    if (v instanceof PyGlobal) {
      if (v.module === 'torch' && TORCH_DTYPE[v.name]) return TORCH_DTYPE[v.name];
      const out = { __global__: v.fullName };
      seen.set(v, out);
      return out;
    }
    if (v instanceof StorageRef) { // a storage saved on its own: a 1-D tensor of its elements
      const t = this.base(v, v.dtype).contiguous();
      this.created.push(t);
      tensors.add(t);
      seen.set(v, t);
      return t;
    }
    return v;
  }
}

/** numpy.core.multiarray.scalar(dtype, bytes): a number for the common dtypes, else undefined (placeholder). */
function numpyScalar(args: unknown[]): unknown {
  const [dt, raw] = args;
  const code = dt instanceof PyObject && typeof dt.args[0] === 'string' ? dt.args[0] : undefined;
  if (!code || !(raw instanceof Uint8Array)) return undefined;
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const big = (x: bigint) => (x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x);
  const sizes: Record<string, number> = { f8: 8, f4: 4, i8: 8, i4: 4, i2: 2, i1: 1, u8: 8, u4: 4, u2: 2, u1: 1, b1: 1 };
  if (sizes[code] !== raw.byteLength) return undefined;
  switch (code) {
    case 'f8': return v.getFloat64(0, true);
    case 'f4': return v.getFloat32(0, true);
    case 'i8': return big(v.getBigInt64(0, true));
    case 'u8': return big(v.getBigUint64(0, true));
    case 'i4': return v.getInt32(0, true);
    case 'u4': return v.getUint32(0, true);
    case 'i2': return v.getInt16(0, true);
    case 'u2': return v.getUint16(0, true);
    case 'i1': return v.getInt8(0);
    case 'u1': return v.getUint8(0);
    case 'b1': return v.getUint8(0) !== 0;
  }
  return undefined;
}

export interface LoadStateDictOptions extends LoadPthOptions {
  /** The key holding the state dict (default: the top level if it is one, else state_dict, model, state_dict_ema, ...). */
  key?: string;
  /** A prefix removed from every key that has it (default 'module.', as DataParallel adds; '' keeps keys). */
  stripPrefix?: string;
}

const STATE_DICT_KEYS = ['state_dict', 'model', 'state_dict_ema', 'model_ema', 'ema_state_dict', 'module', 'net'];

function isTensorDict(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Object.getPrototypeOf(v) !== Object.prototype) return false;
  const vals = Object.values(v);
  return vals.length > 0 && vals.every((x) => x instanceof Tensor);
}

/** All tensors inside a loaded value. */
export function collectTensors(v: unknown, out = new Set<Tensor>(), seen = new Set<unknown>()): Set<Tensor> {
  if (v === null || typeof v !== 'object' || seen.has(v)) return out;
  if (v instanceof Tensor) {
    out.add(v);
    return out;
  }
  seen.add(v);
  if (v instanceof Map) for (const [k, x] of v) { collectTensors(k, out, seen); collectTensors(x, out, seen); }
  else if (v instanceof Set || Array.isArray(v)) for (const x of v) collectTensors(x, out, seen);
  else if (!ArrayBuffer.isView(v)) for (const x of Object.values(v)) collectTensors(x, out, seen);
  return out;
}

/**
 * Loads the model weights of a checkpoint: a top-level dict of tensors, or the dict under `state_dict`
 * (MMDetection), `model` (torchvision references, detectron-style), `state_dict_ema`, ... Every other
 * tensor in the file (optimizer state, ...) is disposed.
 */
export function loadStateDict(file: string, opts: LoadStateDictOptions = {}): Map<string, Tensor> {
  const obj = loadPth(file, opts);
  const all = collectTensors(obj);
  try {
    let sd: Record<string, unknown> | undefined;
    const top = obj !== null && typeof obj === 'object' && !(obj instanceof Map) ? (obj as Record<string, unknown>) : undefined;
    if (opts.key !== undefined) {
      const v = top?.[opts.key];
      if (v === undefined || v === null || typeof v !== 'object') throw new Error(`${file}: no state dict under key '${opts.key}'`);
      sd = v as Record<string, unknown>;
    } else if (isTensorDict(obj)) {
      sd = obj;
    } else {
      const k = STATE_DICT_KEYS.find((key) => isTensorDict(top?.[key]));
      if (k === undefined) {
        const keys = top ? Object.keys(top).slice(0, 20).join(', ') : describe(obj);
        throw new Error(`${file}: found no state dict (a dict of tensors at the top or under ${STATE_DICT_KEYS.join('/')}); top-level keys: ${keys}`);
      }
      sd = top![k] as Record<string, unknown>;
    }
    const prefix = opts.stripPrefix ?? 'module.';
    const out = new Map<string, Tensor>();
    for (const [k, v] of Object.entries(sd)) {
      if (!(v instanceof Tensor)) continue;
      out.set(prefix && k.startsWith(prefix) ? k.slice(prefix.length) : k, v);
    }
    const kept = new Set(out.values());
    for (const t of all) if (!kept.has(t)) t.dispose();
    return out;
  } catch (e) {
    for (const t of all) t.dispose();
    throw e;
  }
}
