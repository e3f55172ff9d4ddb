/**
 * safetensors (https://github.com/huggingface/safetensors): tsvision's own checkpoint format.
 *
 * Layout: 8-byte little-endian header length N, N bytes of JSON
 *   {"__metadata__": {str: str}, name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
 * padded with spaces to a multiple of 8, then the tensor bytes (offsets are relative to the data start).
 * Tensors are laid out as the reference writer does: by dtype alignment (largest first), then by name,
 * so every tensor starts aligned to its element size.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor } from '../tensor';
import { fromBytes } from '../creation';
import { DTYPE_SIZE, type DType } from '../dtype';
import { readAt } from './io';

/** safetensors dtype names for our dtypes. */
export const SAFETENSORS_DTYPE: Readonly<Record<DType, string>> = {
  float64: 'F64', float32: 'F32', float16: 'F16', bfloat16: 'BF16',
  int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};
const FROM_ST: Record<string, DType> = Object.fromEntries(
  Object.entries(SAFETENSORS_DTYPE).map(([k, v]) => [v, k as DType]),
);
/** The reference writer's dtype order (its Dtype enum); data is sorted by it, descending. */
const ST_ORDER = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3FN', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64'];

/** Largest header the reference reader accepts (100 MB). */
const MAX_HEADER = 100_000_000;

export interface Safetensors {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

type TensorDict = Record<string, Tensor> | Map<string, Tensor>;

function entriesOf(tensors: TensorDict): [string, Tensor][] {
  return tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
}

/** Builds the padded header and the data order for a set of tensors. */
function plan(tensors: TensorDict, metadata: Record<string, string> | undefined, where: string) {
  const items = entriesOf(tensors).map(([name, t]) => {
    if (!(t instanceof Tensor)) throw new TypeError(`${where}: '${name}' is not a Tensor`);
    if (t.isDisposed) throw new Error(`${where}: tensor '${name}' has been disposed`);
    return { name, t, dtype: t.dtype, shape: t.shape };
  });
  items.sort((a, b) => {
    const d = ST_ORDER.indexOf(SAFETENSORS_DTYPE[b.dtype]) - ST_ORDER.indexOf(SAFETENSORS_DTYPE[a.dtype]);
    return d !== 0 ? d : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TypeError(`${where}: metadata '${k}' must be a string, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const it of items) {
    if (it.name === '__metadata__') throw new Error(`${where}: '__metadata__' is reserved and cannot name a tensor`);
    const n = it.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE[it.dtype];
    header[it.name] = { dtype: SAFETENSORS_DTYPE[it.dtype], shape: it.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return { prefix, json, items, dataSize: offset };
}

/** The safetensors bytes of a set of tensors (in memory). */
export function serializeSafetensors(tensors: TensorDict, metadata?: Record<string, string>): Uint8Array {
  const { prefix, json, items, dataSize } = plan(tensors, metadata, 'serializeSafetensors');
  const out = new Uint8Array(8 + json.length + dataSize);
  out.set(prefix, 0);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const it of items) {
    const b = new Uint8Array(it.t.toBuffer());
    out.set(b, pos);
    pos += b.length;
  }
  return out;
}

/**
 * Writes tensors to a safetensors file atomically: a temporary file in the same folder is written,
 * fsync-ed and renamed over `file`; on any error it is removed and `file` is left as it was.
 */
export function saveSafetensors(file: string, tensors: TensorDict, metadata?: Record<string, string>): void {
  const { prefix, json, items } = plan(tensors, metadata, `saveSafetensors(${file})`);
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
    writeAll(fd, prefix);
    writeAll(fd, json);
    for (const it of items) writeAll(fd, new Uint8Array(it.t.toBuffer()));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) {
      try { fs.closeSync(fd); } catch { /* already failing */ }
    }
    try { fs.unlinkSync(tmp); } catch { /* may not exist */ }
    throw e instanceof Error ? Object.assign(e, { message: `saveSafetensors(${file}): ${e.message}` }) : e;
  }
  try {
    const dfd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(dfd); } finally { fs.closeSync(dfd); }
  } catch { /* directories cannot be fsync-ed everywhere */ }
}

function writeAll(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off);
}

/** Parses and validates a header; `dataSize` is the number of bytes after it. */
function parseHeader(json: Uint8Array, dataSize: number, where: string): { entries: Entry[]; metadata: Record<string, string> } {
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8'));
  } catch (e) {
    throw new Error(`${where}: the safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new Error(`${where}: the safetensors header is not a JSON object`);
  }
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info)) throw new Error(`${where}: __metadata__ is not an object`);
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new Error(`${where}: __metadata__ '${k}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const bad = (what: string) => new Error(`${where}: tensor '${name}': ${what}`);
    if (info === null || typeof info !== 'object') throw bad('the header entry is not an object');
    const { dtype: st, shape, data_offsets: offs } = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = typeof st === 'string' ? FROM_ST[st] : undefined;
    if (dtype === undefined) throw bad(`unsupported dtype ${JSON.stringify(st)} (supported: ${Object.keys(FROM_ST).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0)) {
      throw bad(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[1] < offs[0]) {
      throw bad(`data_offsets ${JSON.stringify(offs)} are not [begin, end] with 0 <= begin <= end`);
    }
    const need = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_SIZE[dtype];
    if (offs[1] - offs[0] !== need) {
      throw bad(`data_offsets [${offs[0]}, ${offs[1]}] hold ${offs[1] - offs[0]} bytes, ${st} of shape [${shape.join(', ')}] needs ${need}`);
    }
    if (offs[1] > dataSize) throw bad(`data_offsets [${offs[0]}, ${offs[1]}] run past the end of the data (${dataSize} bytes)`);
    entries.push({ name, dtype, shape: shape as number[], begin: offs[0], end: offs[1] });
  }
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < byOffset.length; i++) {
    const p = byOffset[i - 1], c = byOffset[i];
    if (c.begin < p.end) throw new Error(`${where}: tensor '${c.name}' overlaps tensor '${p.name}' in the data`);
  }
  return { entries, metadata };
}

function headerLength(prefix: Uint8Array, available: number, where: string): number {
  if (prefix.length < 8) throw new Error(`${where}: too short for a safetensors file (${prefix.length} bytes)`);
  const n = Buffer.from(prefix.buffer, prefix.byteOffset, 8).readBigUInt64LE(0);
  if (n > BigInt(Math.min(available, MAX_HEADER))) {
    throw new Error(`${where}: the safetensors header length ${n} exceeds the ${available} bytes after it`);
  }
  return Number(n);
}

function fromEntries(entries: Entry[], read: (e: Entry) => Uint8Array, where: string): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  try {
    for (const e of entries) {
      try {
        tensors.set(e.name, fromBytes(read(e), e.dtype, e.shape));
      } catch (err) {
        throw new Error(`${where}: tensor '${e.name}': ${(err as Error).message}`);
      }
    }
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  }
  return tensors;
}

/** Reads safetensors bytes held in memory. */
export function deserializeSafetensors(bytes: Uint8Array, name = '<buffer>'): Safetensors {
  const n = headerLength(bytes, bytes.length - 8, name);
  const { entries, metadata } = parseHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n, name);
  const base = 8 + n;
  return { tensors: fromEntries(entries, (e) => bytes.subarray(base + e.begin, base + e.end), name), metadata };
}

/** Reads a safetensors file (each tensor is read straight from the file; peak extra memory is one tensor). */
export function loadSafetensors(file: string): Safetensors {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const prefix = readAt(fd, 0, Math.min(8, size), file);
    const n = headerLength(prefix, size - 8, file);
    const { entries, metadata } = parseHeader(readAt(fd, 8, n, file), size - 8 - n, file);
    const base = 8 + n;
    return { tensors: fromEntries(entries, (e) => readAt(fd, base + e.begin, e.end - e.begin, file), file), metadata };
  } finally {
    fs.closeSync(fd);
  }
}
