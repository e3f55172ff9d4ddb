/** Local-disk file backend. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FileNotFoundError, type FileBackend } from './backend';

export class LocalBackend implements FileBackend {
  constructor(readonly root = process.cwd()) {}

  resolve(key: string): string {
    return path.resolve(this.root, key);
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      const buf = await fs.readFile(this.resolve(key));
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new FileNotFoundError(this.resolve(key), 'local disk');
      throw err;
    }
  }

  async getText(key: string): Promise<string> {
    return new TextDecoder().decode(await this.get(key));
  }

  async exists(key: string): Promise<boolean> {
    try {
      await fs.access(this.resolve(key));
      return true;
    } catch {
      return false;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const dir = this.resolve(prefix);
    const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => e.isFile())
      .map((e) => path.join(prefix, path.relative(dir, path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))))
      .sort();
  }

  async close(): Promise<void> {}
}
