/** Builds a file backend from its serializable spec. */
import type { BackendSpec, FileBackend } from './backend';
import { HttpBackend } from './http';
import { LocalBackend } from './local';
import { MemcachedBackend } from './memcached';

export { FileNotFoundError, type BackendSpec, type FileBackend } from './backend';
export { HttpBackend } from './http';
export { LocalBackend } from './local';
export { MemcachedBackend, MemcachedClient, memcachedKey } from './memcached';
export { startMemcached, type MemcachedServer } from './memcached-server';

export function createBackend(spec: BackendSpec = { kind: 'local' }): FileBackend {
  switch (spec.kind) {
    case 'local': return new LocalBackend(spec.root);
    case 'memcached': return new MemcachedBackend(spec.server, spec.prefix ?? '', spec.fallbackToDisk ?? false);
    case 'http': return new HttpBackend(spec.baseUrl, { retries: spec.retries, timeoutMs: spec.timeoutMs });
    default: throw new Error(`file backend: unknown kind '${(spec as { kind: string }).kind}'`);
  }
}
