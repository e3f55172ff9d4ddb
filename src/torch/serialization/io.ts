/** File reading helpers shared by the checkpoint readers. */
import * as fs from 'node:fs';

/** Reads exactly `length` bytes at `position`. */
export function readAt(fd: number, position: number, length: number, file: string): Uint8Array {
  const buf = Buffer.allocUnsafe(length);
  let off = 0;
  while (off < length) {
    const r = fs.readSync(fd, buf, off, length - off, position + off);
    if (r === 0) throw new Error(`${file}: unexpected end of file at byte ${position + off}`);
    off += r;
  }
  return buf;
}
