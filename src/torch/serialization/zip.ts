/**
 * A minimal zip reader over a file descriptor: the central directory is read once, entries are
 * read on demand. STORED (what torch.save writes) and DEFLATE entries, ZIP64 sizes and offsets.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { readAt } from './io';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** Whether a file starts with a zip local file header. */
export function isZipFile(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

function u64(buf: Buffer, off: number, what: string, file: string): number {
  const v = buf.readBigUInt64LE(off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${file}: zip ${what} ${v} is too large`);
  return Number(v);
}

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  private fd: number;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'r');
    try {
      this.readDirectory();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  close(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }

  private fail(what: string): never {
    throw new Error(`${this.file}: ${what}`);
  }

  private readDirectory(): void {
    const size = fs.fstatSync(this.fd).size;
    // The end-of-central-directory record is 22 bytes plus a comment of at most 65535.
    const tailLen = Math.min(size, 22 + 0xffff + 20);
    const tail = Buffer.from(readAt(this.fd, size - tailLen, tailLen, this.file));
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === SIG_EOCD && i + 22 + tail.readUInt16LE(i + 20) <= tail.length) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) this.fail('not a complete zip archive (no end-of-central-directory record; is the file truncated?)');
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    const loc = eocd - 20;
    if (loc >= 0 && tail.readUInt32LE(loc) === SIG_EOCD64_LOCATOR) {
      const off64 = u64(tail, loc + 8, 'ZIP64 record offset', this.file);
      if (off64 + 56 > size) this.fail('ZIP64 end-of-central-directory record lies past the end of the file');
      const rec = Buffer.from(readAt(this.fd, off64, 56, this.file));
      if (rec.readUInt32LE(0) !== SIG_EOCD64) this.fail('bad ZIP64 end-of-central-directory record');
      count = u64(rec, 32, 'entry count', this.file);
      cdSize = u64(rec, 40, 'central directory size', this.file);
      cdOffset = u64(rec, 48, 'central directory offset', this.file);
    }
    if (cdOffset + cdSize > size) this.fail(`zip central directory (${cdSize} bytes at ${cdOffset}) lies past the end of the file (${size} bytes; truncated?)`);
    const cd = Buffer.from(readAt(this.fd, cdOffset, cdSize, this.file));
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG_CENTRAL) this.fail(`corrupt zip central directory at entry ${i}`);
      const method = cd.readUInt16LE(p + 10);
      let compressedSize = cd.readUInt32LE(p + 20);
      let usize = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      let localHeaderOffset = cd.readUInt32LE(p + 42);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
      // ZIP64 extended information: the 64-bit values of the fields saturated at 0xFFFFFFFF, in this order.
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = cd.readUInt16LE(e), len = cd.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (usize === 0xffffffff) { usize = u64(cd, q, 'entry size', this.file); q += 8; }
          if (compressedSize === 0xffffffff) { compressedSize = u64(cd, q, 'entry size', this.file); q += 8; }
          if (localHeaderOffset === 0xffffffff) { localHeaderOffset = u64(cd, q, 'entry offset', this.file); }
        }
        e += 4 + len;
      }
      this.entries.set(name, { name, method, compressedSize, size: usize, localHeaderOffset });
      p = extraEnd + commentLen;
    }
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The uncompressed bytes of an entry. */
  read(name: string): Uint8Array {
    const ent = this.entries.get(name);
    if (!ent) this.fail(`zip archive has no entry '${name}'`);
    const lh = Buffer.from(readAt(this.fd, ent.localHeaderOffset, 30, this.file));
    if (lh.readUInt32LE(0) !== SIG_LOCAL) this.fail(`corrupt zip local header for '${name}'`);
    const start = ent.localHeaderOffset + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
    let data: Uint8Array;
    try {
      data = readAt(this.fd, start, ent.compressedSize, this.file);
    } catch {
      this.fail(`zip entry '${name}' (${ent.compressedSize} bytes at ${start}) runs past the end of the file (truncated?)`);
    }
    if (ent.method === 0) {
      if (ent.compressedSize !== ent.size) this.fail(`zip entry '${name}' is stored with mismatched sizes`);
      return data;
    }
    if (ent.method === 8) {
      const out = zlib.inflateRawSync(data);
      if (out.length !== ent.size) this.fail(`zip entry '${name}' inflates to ${out.length} bytes, expected ${ent.size}`);
      return out;
    }
    this.fail(`zip entry '${name}' uses compression method ${ent.method} (supported: stored, deflate)`);
  }
}
