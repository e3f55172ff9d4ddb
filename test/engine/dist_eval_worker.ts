/**
 * One rank of the distributed-evaluation test (distributed_eval.test.ts):
 *   node dist_eval_worker.js '<json: {kind, rank, worldSize, port, dataDir?}>'
 * Runs Runner.val() on this rank's share of the validation set (worldSize 1: the whole set,
 * without a process group) and prints `RESULT {"metrics":...,"samples":N}` (N: samples this
 * rank predicted).
 */
import * as path from 'node:path';
import * as torch from '../../src/torch';
import { initProcessGroup, destroyProcessGroup, type ProcessGroup } from '../../src/distributed';
import { resolveConfig } from '../../src/config';
import { Runner, buildRunner, type TrainableModel } from '../../src/engine';
import { detectionTask, type DetectionConfig } from '../../src/tasks/detection/task';
import type { Batch } from '../../src/data/collate';
import type { DetInstances } from '../../src/models/detectors/types';
import { SAME_BOXES } from '../helpers/same_boxes_coco';

interface Job { kind: 'toy' | 'detection'; rank: number; worldSize: number; port: number; dataDir?: string }

/**
 * A stand-in detector whose detections depend on the image id only: the true boxes shifted by
 * (id mod 7) px with scores falling with (id mod 5), plus one false positive, so the box AP is
 * neither 0 nor 1 and depends on every image.
 */
function fakeDetector(counter: { samples: number }): TrainableModel<Batch, DetInstances[]> {
  return {
    training: false, train() {}, eval() {},
    loss: () => { throw new Error('not for training'); },
    predict(batch) {
      counter.samples += batch.items.length;
      return batch.items.map(({ meta }) => {
        const id = meta.imgId;
        const d = id % 7;
        const boxes = SAME_BOXES.map(({ bbox: [x, y, w, h] }) => [x + d, y + d / 2, x + w + d, y + h - d / 2]);
        boxes.push([40, 2, 60, 22]);
        const scores = [0.95 - 0.05 * (id % 5), 0.9 - 0.1 * (id % 3), 0.5 + 0.02 * id];
        return {
          boxes: torch.tensor(boxes.flat(), { dtype: 'float32' }).reshape([3, 4]),
          scores: torch.tensor(scores, { dtype: 'float32' }),
          labels: torch.tensor([SAME_BOXES[0].categoryId - 1, SAME_BOXES[1].categoryId - 1, id % 2], { dtype: 'int64' }),
        } as DetInstances;
      });
    },
    namedParameters: () => [],
    stateDict: () => new Map(),
    loadStateDict: () => ({ missingKeys: [], unexpectedKeys: [] }) as never,
  };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]) as Job;
  let pg: ProcessGroup | undefined;
  if (job.worldSize > 1) pg = initProcessGroup({ initMethod: `tcp://127.0.0.1:${job.port}`, rank: job.rank, worldSize: job.worldSize, timeoutMs: 30_000 });
  try {
    let runner: Runner;
    const counter = { samples: 0 };
    if (job.kind === 'toy') {
      // 37 samples in batches of 4: uneven shards, a short last batch
      const loaded = resolveConfig('toy/mlp_regression', ['data.valSize=37', 'data.batchSize=4']);
      runner = buildRunner(loaded, { mode: 'test', quiet: true, processGroup: pg });
      counter.samples = NaN;
    } else {
      const d = job.dataDir!;
      const loaded = resolveConfig('retinanet/retinanet_r18_fpn_shapes', [
        `data.val.annFile=${path.join(d, 'annotations', 'instances_val.json')}`, `data.val.imgDir=${path.join(d, 'val')}`,
        'data.generate=null', 'data.classes=["a","b"]', 'data.categoryIds=[1,2]', 'data.workers=0', 'data.valBatchSize=2', 'model.bboxHead.numClasses=2',
      ]);
      const cfg = loaded.config as DetectionConfig;
      const shard = pg ? { rank: pg.rank, worldSize: pg.worldSize } : undefined;
      runner = new Runner({
        model: fakeDetector(counter), config: cfg, configName: loaded.name, workDir: path.join(d, 'work'), quiet: true, processGroup: pg,
        valData: detectionTask.buildValData(cfg, shard), evaluator: detectionTask.buildEvaluator(cfg),
      });
    }
    const metrics = await runner.val();
    console.log(`RESULT ${JSON.stringify({ metrics, samples: counter.samples })}`);
  } finally {
    if (pg) {
      pg.barrier().wait();
      destroyProcessGroup();
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
