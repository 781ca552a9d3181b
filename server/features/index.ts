import { exampleFeature } from './example/routes';
import { monitorFeature } from './monitor/routes';
import { drawFeature } from './draw/routes';
import { kanbanFeature } from './kanban/routes';
import { chatFeature } from './chat/routes';
import { examplesIndexFeature } from './examples-index/routes';
import { editorFeature } from './editor/routes';
import { sheetFeature } from './sheet/routes';
import type { Feature } from './feature';
import { chat } from './chat/protocol';
import { draw } from './draw/protocol';
import { editor } from './editor/protocol';
import { example } from './example/protocol';
import { kanban } from './kanban/protocol';
import { monitor } from './monitor/protocol';
import { sheet } from './sheet/protocol';

/** The features createApp mounts, in order. */
export const builtinFeatures: Feature[] = [
  // First: it owns /examples and Base's /static/* paths (301, query string kept) for every example.
  examplesIndexFeature,
  exampleFeature, monitorFeature, drawFeature, kanbanFeature, chatFeature, editorFeature, sheetFeature];

/** The examples' protocols: their server frames are page content, which the admin pages may not send (admin/actions.ts). */
export const builtinProtocols = { chat, draw, editor, example, kanban, monitor, sheet };
