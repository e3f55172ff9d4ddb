/**
 * A Python pickle virtual machine (protocols 0-5, without out-of-band buffers and the extension
 * registry) for reading torch.save files. It builds an intermediate object graph; callables are
 * resolved by the caller through `Unpickler.callGlobal` / `persistentLoad`.
 */

/** A global (module.qualname) referenced by GLOBAL / STACK_GLOBAL. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get fullName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A Python dict during unpickling (keys of any type, insertion order). */
export class PyDict {
  readonly map = new Map<unknown, unknown>();
}

/** An instance of a class we do not model: what it was built from. */
export class PyObject {
  state: unknown = null;
  items?: PyDict;
  list?: unknown[];
  constructor(readonly cls: string, readonly args: unknown[]) {}
}

/** Python's set / frozenset. */
export class PySet {
  constructor(readonly values: unknown[] = []) {}
}

export interface UnpicklerHooks {
  /** Resolves BINPERSID / PERSID. */
  persistentLoad(pid: unknown): unknown;
  /** Calls a global (REDUCE); return `undefined` to fall back to a PyObject placeholder. */
  callGlobal(g: PyGlobal, args: unknown[]): unknown;
}

const decoder = new TextDecoder('utf-8');
const latin1 = new TextDecoder('latin1');

/** A little-endian two's-complement integer (LONG1 / LONG4) as a number when safe, else a bigint. */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function parseTextInt(s: string): number | bigint | boolean {
  if (s === '01') return true;
  if (s === '00') return false;
  const t = s.endsWith('L') ? s.slice(0, -1) : s;
  const v = BigInt(t);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Python's repr-style string literal of protocol 0 (STRING): quotes and backslash escapes. */
function parseQuoted(s: string): string {
  const q = s[0];
  if ((q !== "'" && q !== '"') || s[s.length - 1] !== q) throw new Error('STRING argument is not quoted');
  return unescape(s.slice(1, -1));
}

function unescape(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{1,3}|.)/gs, (_m, e: string) => {
    switch (e[0]) {
      case 'x': case 'u': case 'U': return String.fromCodePoint(parseInt(e.slice(1), 16));
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case '\\': return '\\';
      case "'": return "'";
      case '"': return '"';
      case '\n': return '';
      default: return /[0-7]/.test(e[0]) ? String.fromCharCode(parseInt(e, 8)) : `\\${e}`;
    }
  });
}

export class Unpickler {
  private pos = 0;
  private stack: unknown[] = [];
  private marks: number[] = [];
  private memo = new Map<number, unknown>();
  private view: DataView;

  constructor(private readonly data: Uint8Array, private readonly where: string, private readonly hooks: UnpicklerHooks) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  private fail(msg: string): never {
    throw new Error(`${this.where}: ${msg}`);
  }

  private need(n: number): number {
    const p = this.pos;
    if (p + n > this.data.length) this.fail(`pickle data ends early (needs ${n} bytes at byte ${p})`);
    this.pos = p + n;
    return p;
  }
  private u8(): number { return this.data[this.need(1)]; }
  private u16(): number { return this.view.getUint16(this.need(2), true); }
  private u32(): number { return this.view.getUint32(this.need(4), true); }
  private i32(): number { return this.view.getInt32(this.need(4), true); }
  private u64(): number {
    const v = this.view.getBigUint64(this.need(8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`pickle length ${v} is too large`);
    return Number(v);
  }
  private bytes(n: number): Uint8Array {
    const p = this.need(n);
    return this.data.subarray(p, p + n);
  }
  private line(): string {
    const start = this.pos;
    const end = this.data.indexOf(0x0a, start);
    if (end < 0) this.fail(`pickle data ends inside a text line at byte ${start}`);
    this.pos = end + 1;
    return latin1.decode(this.data.subarray(start, end));
  }
  private copyBytes(n: number): Uint8Array {
    return new Uint8Array(this.bytes(n));
  }

  private pop(): unknown {
    if (this.stack.length === 0 || this.stack.length <= (this.marks.at(-1) ?? -1)) this.fail(`pickle stack underflow at byte ${this.pos}`);
    return this.stack.pop();
  }
  private top(): unknown {
    if (this.stack.length === 0) this.fail(`pickle stack underflow at byte ${this.pos}`);
    return this.stack[this.stack.length - 1];
  }
  /** Pops everything down to the last MARK. */
  private popMark(): unknown[] {
    const m = this.marks.pop();
    if (m === undefined) this.fail(`pickle MARK missing at byte ${this.pos}`);
    return this.stack.splice(m);
  }
  private memoGet(i: number): unknown {
    if (!this.memo.has(i)) this.fail(`pickle memo key ${i} is not defined (byte ${this.pos})`);
    return this.memo.get(i);
  }

  private setItems(target: unknown, kv: unknown[]): void {
    let d: PyDict;
    if (target instanceof PyDict) d = target;
    else if (target instanceof PyObject) d = target.items ??= new PyDict();
    else this.fail(`pickle SETITEM(S) on a ${describe(target)} at byte ${this.pos}`);
    for (let i = 0; i + 1 < kv.length; i += 2) d.map.set(kv[i], kv[i + 1]);
  }
  private appendItems(target: unknown, items: unknown[]): void {
    if (Array.isArray(target)) {
      for (const v of items) target.push(v);
    } else if (target instanceof PyObject) {
      (target.list ??= []).push(...items);
    } else {
      this.fail(`pickle APPEND(S) on a ${describe(target)} at byte ${this.pos}`);
    }
  }

  private call(fn: unknown, args: unknown[]): unknown {
    if (!(fn instanceof PyGlobal)) return new PyObject(`<call of ${describe(fn)}>`, args);
    const r = this.hooks.callGlobal(fn, args);
    return r === undefined ? new PyObject(fn.fullName, args) : r;
  }

  load(): unknown {
    const d = this.data;
    for (;;) {
      if (this.pos >= d.length) this.fail('pickle data ends without STOP');
      const at = this.pos;
      const op = d[this.pos++];
      switch (op) {
        case 0x80: { // PROTO
          const v = this.u8();
          if (v > 5) this.fail(`unsupported pickle protocol ${v}`);
          break;
        }
        case 0x95: this.u64(); break; // FRAME: frames are only a hint to buffered readers
        case 0x2e: return this.pop(); // STOP
        case 0x28: this.marks.push(this.stack.length); break; // MARK
        case 0x30: this.pop(); break; // POP
        case 0x31: this.popMark(); break; // POP_MARK
        case 0x32: this.stack.push(this.top()); break; // DUP
        // ---- constants and numbers
        case 0x4e: this.stack.push(null); break; // NONE
        case 0x88: this.stack.push(true); break; // NEWTRUE
        case 0x89: this.stack.push(false); break; // NEWFALSE
        case 0x4a: this.stack.push(this.i32()); break; // BININT
        case 0x4b: this.stack.push(this.u8()); break; // BININT1
        case 0x4d: this.stack.push(this.u16()); break; // BININT2
        case 0x8a: this.stack.push(decodeLong(this.bytes(this.u8()))); break; // LONG1
        case 0x8b: { // LONG4
          const n = this.i32();
          if (n < 0) this.fail(`negative LONG4 length at byte ${at}`);
          this.stack.push(decodeLong(this.bytes(n)));
          break;
        }
        case 0x49: this.stack.push(parseTextInt(this.line())); break; // INT
        case 0x4c: this.stack.push(parseTextInt(this.line())); break; // LONG
        case 0x47: this.stack.push(this.view.getFloat64(this.need(8), false)); break; // BINFLOAT (big-endian)
        case 0x46: this.stack.push(parseFloat(this.line())); break; // FLOAT
        // ---- strings and bytes
        case 0x58: this.stack.push(decoder.decode(this.bytes(this.u32()))); break; // BINUNICODE
        case 0x8c: this.stack.push(decoder.decode(this.bytes(this.u8()))); break; // SHORT_BINUNICODE
        case 0x8d: this.stack.push(decoder.decode(this.bytes(this.u64()))); break; // BINUNICODE8
        case 0x56: this.stack.push(unescape(this.line())); break; // UNICODE (raw-unicode-escape)
        case 0x54: this.stack.push(latin1.decode(this.bytes(this.u32()))); break; // BINSTRING (py2 str)
        case 0x55: this.stack.push(latin1.decode(this.bytes(this.u8()))); break; // SHORT_BINSTRING
        case 0x53: this.stack.push(parseQuoted(this.line())); break; // STRING
        case 0x42: this.stack.push(this.copyBytes(this.u32())); break; // BINBYTES
        case 0x43: this.stack.push(this.copyBytes(this.u8())); break; // SHORT_BINBYTES
        case 0x8e: this.stack.push(this.copyBytes(this.u64())); break; // BINBYTES8
        case 0x96: this.stack.push(this.copyBytes(this.u64())); break; // BYTEARRAY8
        // ---- containers
        case 0x29: this.stack.push([]); break; // EMPTY_TUPLE
        case 0x5d: this.stack.push([]); break; // EMPTY_LIST
        case 0x7d: this.stack.push(new PyDict()); break; // EMPTY_DICT
        case 0x8f: this.stack.push(new PySet()); break; // EMPTY_SET
        case 0x74: this.stack.push(this.popMark()); break; // TUPLE
        case 0x6c: this.stack.push(this.popMark()); break; // LIST
        case 0x85: this.stack.push([this.pop()]); break; // TUPLE1
        case 0x86: { const b = this.pop(), a = this.pop(); this.stack.push([a, b]); break; } // TUPLE2
        case 0x87: { const c = this.pop(), b = this.pop(), a = this.pop(); this.stack.push([a, b, c]); break; } // TUPLE3
        case 0x64: { const d2 = new PyDict(); this.setItems(d2, this.popMark()); this.stack.push(d2); break; } // DICT
        case 0x91: this.stack.push(new PySet(this.popMark())); break; // FROZENSET
        case 0x61: { const v = this.pop(); this.appendItems(this.top(), [v]); break; } // APPEND
        case 0x65: { const items = this.popMark(); this.appendItems(this.top(), items); break; } // APPENDS
        case 0x73: { const v = this.pop(), k = this.pop(); this.setItems(this.top(), [k, v]); break; } // SETITEM
        case 0x75: { const kv = this.popMark(); this.setItems(this.top(), kv); break; } // SETITEMS
        case 0x90: { // ADDITEMS
          const items = this.popMark();
          const s = this.top();
          if (!(s instanceof PySet)) this.fail(`pickle ADDITEMS on a ${describe(s)} at byte ${at}`);
          s.values.push(...items);
          break;
        }
        // ---- memo
        case 0x71: this.memo.set(this.u8(), this.top()); break; // BINPUT
        case 0x72: this.memo.set(this.u32(), this.top()); break; // LONG_BINPUT
        case 0x70: this.memo.set(Number(this.line()), this.top()); break; // PUT
        case 0x94: this.memo.set(this.memo.size, this.top()); break; // MEMOIZE
        case 0x68: this.stack.push(this.memoGet(this.u8())); break; // BINGET
        case 0x6a: this.stack.push(this.memoGet(this.u32())); break; // LONG_BINGET
        case 0x67: this.stack.push(this.memoGet(Number(this.line()))); break; // GET
        // ---- objects
        case 0x63: { const module = this.line(); const name = this.line(); this.stack.push(new PyGlobal(module, name)); break; } // GLOBAL
        case 0x93: { // STACK_GLOBAL
          const name = this.pop(), module = this.pop();
          if (typeof name !== 'string' || typeof module !== 'string') this.fail(`pickle STACK_GLOBAL needs two strings at byte ${at}`);
          this.stack.push(new PyGlobal(module, name));
          break;
        }
        case 0x52: { // REDUCE
          const args = this.pop(), fn = this.pop();
          this.stack.push(this.call(fn, Array.isArray(args) ? args : [args]));
          break;
        }
        case 0x81: { // NEWOBJ: cls.__new__(cls, *args)
          const args = this.pop(), cls = this.pop();
          this.stack.push(this.newObj(cls, Array.isArray(args) ? args : [args]));
          break;
        }
        case 0x92: { // NEWOBJ_EX
          const kwargs = this.pop(), args = this.pop(), cls = this.pop();
          const o = this.newObj(cls, Array.isArray(args) ? args : [args]);
          if (o instanceof PyObject && kwargs instanceof PyDict && kwargs.map.size > 0) o.state = kwargs;
          this.stack.push(o);
          break;
        }
        case 0x69: { // INST module\nname\n, args from MARK
          const module = this.line(); const name = this.line();
          this.stack.push(this.call(new PyGlobal(module, name), this.popMark()));
          break;
        }
        case 0x6f: { // OBJ: MARK cls args...
          const items = this.popMark();
          this.stack.push(this.call(items[0], items.slice(1)));
          break;
        }
        case 0x62: { // BUILD
          const state = this.pop();
          const obj = this.top();
          if (obj instanceof PyObject) {
            if (obj.state instanceof PyDict && state instanceof PyDict) for (const [k, v] of state.map) obj.state.map.set(k, v);
            else obj.state = state;
          }
          // dicts (OrderedDict's _metadata), tensors and others: the state carries nothing we use
          break;
        }
        case 0x51: this.stack.push(this.hooks.persistentLoad(this.pop())); break; // BINPERSID
        case 0x50: this.stack.push(this.hooks.persistentLoad(this.line())); break; // PERSID
        default:
          this.fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}`);
      }
    }
  }

  private newObj(cls: unknown, args: unknown[]): unknown {
    if (cls instanceof PyGlobal) {
      switch (cls.fullName) {
        case 'collections.OrderedDict': case 'builtins.dict': return new PyDict();
        case 'builtins.list': return [];
        case 'builtins.set': return new PySet();
      }
      return new PyObject(cls.fullName, args);
    }
    return new PyObject(`<new of ${describe(cls)}>`, args);
  }
}

export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PyGlobal) return v.fullName;
  if (v instanceof PyObject) return `${v.cls} object`;
  if (v instanceof PyDict) return 'dict';
  if (Array.isArray(v)) return 'list/tuple';
  return typeof v;
}
