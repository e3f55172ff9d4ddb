/** Loading a dataset's files into memcached (`tsvision cache-dataset`). */
import type { BackendSpec, FileBackend } from './backends';
import { MemcachedBackend } from './backends/memcached';
import { pool } from './synthetic/common';

/** Copies `keys` from `source` into memcached under the same keys; resolves to counts. */
export async function cacheFiles(
  keys: string[],
  source: FileBackend,
  target: Extract<BackendSpec, { kind: 'memcached' }>,
  opts: { concurrency?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ files: number; bytes: number }> {
  const mc = new MemcachedBackend(target.server, target.prefix ?? '');
  let total = 0;
  let done = 0;
  try {
    await pool(keys.length, opts.concurrency ?? 8, async (i) => {
      const data = await source.get(keys[i]);
      await mc.put(keys[i], data);
      total += data.byteLength;
      opts.onProgress?.(++done, keys.length);
    });
    await mc.addToIndex(keys);
  } finally {
    await mc.close();
  }
  return { files: keys.length, bytes: total };
}
