import { exampleFeature } from './example/routes';
import { monitorFeature } from './monitor/routes';
import { drawFeature } from './draw/routes';
import type { Feature } from './feature';

/** The features createApp mounts, in order. */
export const builtinFeatures: Feature[] = [exampleFeature, monitorFeature, drawFeature];
