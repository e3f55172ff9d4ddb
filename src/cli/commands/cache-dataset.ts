/** `tsvision cache-dataset`: loads a dataset's image files into a memcached server. */
import * as path from 'node:path';
import { LocalBackend } from '../../data/backends';
import { cacheFiles } from '../../data/cache';
import { CocoDetection } from '../../data/datasets/coco';
import { numberOption, parseCommandArgs, UsageError, type Command } from '../command';

const help = `Usage: tsvision cache-dataset (--ann-file FILE --img-dir DIR | --dir DIR) --server HOST:PORT [options]

Copies a dataset's files into memcached, under their paths, so a loader configured with
  backend: { kind: 'memcached', server: 'HOST:PORT', prefix }
reads them from memory instead of disk (what the seeds' benchmarks do to take I/O out of the timings).

Options:
  --ann-file FILE    COCO annotation file: caches the images it lists (resolved against --img-dir)
  --img-dir DIR      folder the COCO file_names are relative to
  --dir DIR          or: cache every file below DIR (images and label maps of a segmentation dataset)
  --server H:P       memcached server (e.g. 127.0.0.1:11211)
  --prefix P         key prefix (default none)
  --concurrency N    parallel transfers (default 8)`;

export const cacheDatasetCommand: Command = {
  name: 'cache-dataset',
  summary: "load a dataset's images into memcached",
  help,
  async run(argv) {
    const { values } = parseCommandArgs('cache-dataset', argv, {
      'ann-file': { type: 'string' },
      'img-dir': { type: 'string' },
      dir: { type: 'string' },
      server: { type: 'string' },
      prefix: { type: 'string' },
      concurrency: { type: 'string' },
    }, false);
    const server = values.server as string | undefined;
    if (!server) throw new UsageError('cache-dataset: --server HOST:PORT is required');
    const concurrency = numberOption('cache-dataset', 'concurrency', values.concurrency as string | undefined, 8, { integer: true, min: 1 });
    const local = new LocalBackend();
    let keys: string[];
    if (typeof values['ann-file'] === 'string') {
      if (typeof values['img-dir'] !== 'string') throw new UsageError('cache-dataset: --ann-file needs --img-dir');
      const ds = await CocoDetection.load({ annFile: values['ann-file'], imgDir: path.resolve(values['img-dir']) });
      keys = Array.from({ length: ds.length }, (_, i) => ds.info(i).imgPath);
    } else if (typeof values.dir === 'string') {
      keys = (await local.list(path.resolve(values.dir)));
    } else {
      throw new UsageError('cache-dataset: give --ann-file and --img-dir, or --dir');
    }
    const t0 = Date.now();
    const r = await cacheFiles(keys, local, { kind: 'memcached', server, prefix: (values.prefix as string | undefined) ?? '' }, { concurrency });
    console.log(`cache-dataset: ${r.files} files, ${(r.bytes / 1e6).toFixed(1)} MB into memcached ${server} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return 0;
  },
};
