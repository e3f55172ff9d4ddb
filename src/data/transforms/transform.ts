/** The transform contract: a step that updates a sample's image and targets together. */
import type { Rng } from '../rng';
import type { Sample } from '../sample';

export interface Transform {
  /** Name used in error messages and specs (e.g. 'Resize'). */
  readonly name: string;
  /**
   * Applies the transform; may mutate and return `sample`. `rng` is the sample's own
   * generator, so a run is reproducible whatever worker handles the sample.
   */
  apply(sample: Sample, rng: Rng): Sample | Promise<Sample>;
}
