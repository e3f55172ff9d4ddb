/**
 * Pipelines as data: a TransformSpec is a typed, JSON-serializable description of one
 * transform (checked by the compiler, so no registry strings), which is how a pipeline
 * travels to the loader's worker threads. `buildPipeline` is the one explicit index.
 */
import type { Rng } from '../rng';
import type { Sample } from '../sample';
import { RandomCrop, type RandomCropOptions } from './crop';
import { RandomFlip, type RandomFlipOptions } from './flip';
import { Normalize, NormalizePad, type NormalizeOptions } from './normalize';
import { Pad, type PadOptions } from './pad';
import { PhotoMetricDistortion, type PhotoMetricDistortionOptions } from './photometric';
import { Resize, type ResizeOptions } from './resize';
import { RandomResize, type RandomResizeOptions } from './random-resize';
import {
  GenerateHeatmap, GenerateTarget, GetBBoxCenterScale, TopdownAffine,
  type GenerateTargetOptions, type GetBBoxCenterScaleOptions, type HeatmapOptions, type KeypointEncoder, type KeypointEncoderSpec, type TopdownAffineOptions,
} from './topdown';
import {
  RandomBBoxTransform, RandomHalfBody, TopdownRandomFlip,
  type RandomBBoxTransformOptions, type RandomHalfBodyOptions, type TopdownRandomFlipOptions,
} from './topdown-random';
import type { Transform } from './transform';

export type { Transform } from './transform';
export { RandomCrop, RandomResize, RandomFlip, Normalize, NormalizePad, Pad, PhotoMetricDistortion, Resize, TopdownAffine, GenerateHeatmap };
export { GetBBoxCenterScale, TopdownRandomFlip, RandomHalfBody, RandomBBoxTransform, GenerateTarget };
export type { KeypointEncoder, KeypointEncoderSpec, EncodedKeypoints } from './topdown';
export { COCO_FLIP_INDICES, COCO_LOWER_BODY_IDS, COCO_UPPER_BODY_IDS, flipIndicesFromPairs } from './topdown-random';
import { NORMALIZE_CAFFE, NORMALIZE_PYTORCH } from './normalize';
export { NORMALIZE_CAFFE, NORMALIZE_PYTORCH };
export { rescaleSize } from './resize';
export { paddedImage } from './pad';

export type TransformSpec =
  | ({ type: 'Resize' } & ResizeOptions)
  | ({ type: 'RandomResize' } & RandomResizeOptions)
  | ({ type: 'RandomFlip' } & RandomFlipOptions)
  | ({ type: 'Normalize' } & NormalizeOptions)
  | ({ type: 'Pad' } & PadOptions)
  | ({ type: 'RandomCrop' } & RandomCropOptions)
  | ({ type: 'PhotoMetricDistortion' } & PhotoMetricDistortionOptions)
  | ({ type: 'GetBBoxCenterScale' } & GetBBoxCenterScaleOptions)
  | ({ type: 'TopdownRandomFlip' } & TopdownRandomFlipOptions)
  | ({ type: 'RandomHalfBody' } & RandomHalfBodyOptions)
  | ({ type: 'RandomBBoxTransform' } & RandomBBoxTransformOptions)
  | ({ type: 'TopdownAffine' } & TopdownAffineOptions)
  | ({ type: 'GenerateTarget'; encoder: KeypointEncoderSpec } & Omit<GenerateTargetOptions, 'encoder'>)
  | ({ type: 'GenerateHeatmap' } & HeatmapOptions);

/** What building a pipeline may need beyond its specs: objects that specs can only name. */
export interface PipelineContext {
  /** Builds a keypoint codec's encoder from its spec (GenerateTarget); the pose task passes src/models/codecs' builder. */
  buildKeypointEncoder?: (spec: KeypointEncoderSpec) => KeypointEncoder;
}

/**
 * The PipelineContext exported (as `pipelineContext`) by the module at `modulePath`, or an empty
 * one without a path. The module is named at run time, so src/data imports nothing above it.
 */
export function loadPipelineContext(modulePath: string | undefined): PipelineContext {
  if (!modulePath) return {};
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(modulePath) as { pipelineContext?: PipelineContext };
  if (!mod || typeof mod.pipelineContext !== 'object') throw new Error(`pipeline: ${modulePath} does not export a pipelineContext object`);
  return mod.pipelineContext;
}

/** Builds one transform from its spec. */
export function buildTransform(spec: TransformSpec, ctx: PipelineContext = {}): Transform {
  switch (spec.type) {
    case 'Resize': return new Resize(spec);
    case 'RandomResize': return new RandomResize(spec);
    case 'RandomFlip': return new RandomFlip(spec);
    case 'Normalize': return new Normalize(spec);
    case 'Pad': return new Pad(spec);
    case 'RandomCrop': return new RandomCrop(spec);
    case 'PhotoMetricDistortion': return new PhotoMetricDistortion(spec);
    case 'GetBBoxCenterScale': return new GetBBoxCenterScale(spec);
    case 'TopdownRandomFlip': return new TopdownRandomFlip(spec);
    case 'RandomHalfBody': return new RandomHalfBody(spec);
    case 'RandomBBoxTransform': return new RandomBBoxTransform(spec);
    case 'TopdownAffine': return new TopdownAffine(spec);
    case 'GenerateTarget': {
      if (!ctx.buildKeypointEncoder) throw new Error(`pipeline: GenerateTarget (encoder '${spec.encoder?.type}') needs a keypoint encoder builder (PipelineContext.buildKeypointEncoder)`);
      return new GenerateTarget({ ...spec, encoder: ctx.buildKeypointEncoder(spec.encoder) });
    }
    case 'GenerateHeatmap': return new GenerateHeatmap(spec);
    default: throw new Error(`pipeline: unknown transform type '${(spec as { type: string }).type}'`);
  }
}

/**
 * Transforms applied in order. A Normalize directly followed by a Pad runs as one step
 * (NormalizePad), which writes the padded planes in one pass; the result is the same.
 */
export class Compose implements Transform {
  readonly name = 'Compose';
  private readonly steps: Transform[] = [];
  constructor(readonly transforms: Transform[]) {
    for (let i = 0; i < transforms.length; i++) {
      const [t, next] = [transforms[i], transforms[i + 1]];
      if (t instanceof Normalize && next instanceof Pad) {
        this.steps.push(new NormalizePad(t, next));
        i++;
      } else {
        this.steps.push(t);
      }
    }
  }
  async apply(sample: Sample, rng: Rng): Promise<Sample> {
    for (const t of this.steps) sample = await t.apply(sample, rng);
    return sample;
  }
}

export function buildPipeline(specs: readonly TransformSpec[], ctx: PipelineContext = {}): Compose {
  return new Compose(specs.map((s) => buildTransform(s, ctx)));
}

/** MMDetection's standard training pipeline (after loading): keep-ratio resize, flip, normalize, pad 32. */
export function detTrainPipeline(scale: [number, number] = [1333, 800], normalize: NormalizeOptions = NORMALIZE_PYTORCH): TransformSpec[] {
  return [
    { type: 'Resize', scales: [scale], keepRatio: true },
    { type: 'RandomFlip', prob: 0.5 },
    { type: 'Normalize', ...normalize },
    { type: 'Pad', sizeDivisor: 32 },
  ];
}

/** The test-time counterpart: no flip. */
export function detTestPipeline(scale: [number, number] = [1333, 800], normalize: NormalizeOptions = NORMALIZE_PYTORCH): TransformSpec[] {
  return detTrainPipeline(scale, normalize).filter((s) => s.type !== 'RandomFlip');
}
