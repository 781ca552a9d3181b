import { exampleFeature } from './example/routes';
import { monitorFeature } from './monitor/routes';
import { drawFeature } from './draw/routes';
import { kanbanFeature } from './kanban/routes';
import { chatFeature } from './chat/routes';
import { examplesIndexFeature } from './examples-index/routes';
import { editorFeature } from './editor/routes';
import { sheetFeature } from './sheet/routes';
import type { Feature } from './feature';

/** The features createApp mounts, in order. */
export const builtinFeatures: Feature[] = [
  // First: it owns /examples and Base's /static/* paths (301, query string kept) for every example.
  examplesIndexFeature,
  exampleFeature, monitorFeature, drawFeature, kanbanFeature, chatFeature, editorFeature, sheetFeature];
