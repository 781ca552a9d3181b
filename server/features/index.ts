import { exampleFeature } from './example/routes';
import type { Feature } from './feature';

/** The features createApp mounts, in order. */
export const builtinFeatures: Feature[] = [exampleFeature];
