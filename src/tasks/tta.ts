/**
 * Test-time augmentation shared by the tasks: the views of a test pipeline (its Resize replaced by
 * each view's resize, a certain flip appended where the view flips) and the batch source that
 * zips one loader per view into batches carrying every view of the same images.
 */
import type { Batch } from '../data/collate';
import type { TransformSpec } from '../data/transforms';
import { iteratorOf, type BatchSource } from '../engine/types';

type ResizeSpec = Extract<TransformSpec, { type: 'Resize' }>;

/** One test-time view: its pipeline and whether it flips. */
export interface TtaView<K = unknown> {
  /** What the view resizes by (a detection scale, a segmentation ratio). */
  key: K;
  flip: boolean;
  pipeline: TransformSpec[];
}

/**
 * The views of a test pipeline: for each entry of `resizes` (and flip), the pipeline with its Resize
 * replaced by that entry's, followed by a certain RandomFlip when flipped.
 */
export function ttaPipelines<K>(testPipeline: TransformSpec[], resizes: { key: K; resize: (r: ResizeSpec) => ResizeSpec }[], flip: boolean, where: string): TtaView<K>[] {
  const at = testPipeline.findIndex((s) => s.type === 'Resize');
  if (at < 0) throw new Error(`${where}: test-time augmentation needs a Resize in data.testPipeline (found ${testPipeline.map((s) => s.type).join(', ') || 'nothing'})`);
  if (testPipeline.some((s) => s.type === 'RandomFlip')) throw new Error(`${where}: data.testPipeline already has a RandomFlip; the tta settings add the flipped views`);
  const resize = testPipeline[at] as ResizeSpec;
  const views: TtaView<K>[] = [];
  for (const r of resizes) {
    for (const flipped of flip ? [false, true] : [false]) {
      const pipeline: TransformSpec[] = [...testPipeline.slice(0, at), r.resize(resize)];
      if (flipped) pipeline.push({ type: 'RandomFlip', prob: 1 });
      pipeline.push(...testPipeline.slice(at + 1));
      views.push({ key: r.key, flip: flipped, pipeline });
    }
  }
  return views;
}

/** The Resize of a test pipeline (for defaults taken from it). */
export function testResize(testPipeline: TransformSpec[]): ResizeSpec | undefined {
  return testPipeline.find((s): s is ResizeSpec => s.type === 'Resize');
}

/** A test batch seen through every view; its own fields are the first view's. */
export interface AugBatch extends Batch {
  views: Batch[];
}

export function isAugBatch(batch: Batch): batch is AugBatch {
  return Array.isArray((batch as Partial<AugBatch>).views);
}

/**
 * Zips one batch source per view (same dataset, same order, no shuffling) into batches
 * carrying all views of the same images.
 */
export function zipViewSources(sources: BatchSource<Batch>[]): BatchSource<Batch> {
  if (sources.length === 0) throw new Error('zipViewSources: no views');
  return {
    length: sources[0].length,
    async *epoch(e: number) {
      const its = sources.map((s) => iteratorOf(s.epoch(e)));
      try {
        for (;;) {
          const next = await Promise.all(its.map((it) => it.next()));
          const done = next.filter((n) => n.done).length;
          if (done === next.length) return;
          if (done > 0) throw new Error('test-time augmentation: the views ran out of batches at different points');
          const views = next.map((n) => n.value as Batch);
          const ids = views[0].items.map((it) => it.meta.imgId).join();
          if (views.some((v) => v.items.map((it) => it.meta.imgId).join() !== ids)) throw new Error('test-time augmentation: the views disagree on the images of a batch');
          const aug: AugBatch = { ...views[0], views };
          yield aug;
        }
      } finally {
        await Promise.all(its.map((it) => it.return?.()));
      }
    },
    async close() {
      await Promise.all(sources.map((s) => s.close?.()));
    },
  };
}
