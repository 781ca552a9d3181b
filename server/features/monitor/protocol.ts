import { z } from 'zod';
import { defineProtocol } from '../../socket';
import type { Sample, Thresholds } from './metrics';

/**
 * The system monitor: the server measures itself and pushes one `sample` a second to the
 * monitor channel while it has members. `hello` (sent on every (re)connect) returns what a
 * late joiner needs to draw the charts at once: the recent history and the alert thresholds.
 */
export const monitor = defineProtocol({
  client: {
    hello: z.object({}),
  },
  server: {
    // Outbound frames are not re-validated: z.custom only carries the type to both sides.
    sample: z.custom<Sample>(),
  },
  replies: {
    hello: z.custom<{ node: string; intervalMs: number; historySize: number; thresholds: Thresholds; history: Sample[] }>(),
  },
});
export type MonitorProtocol = typeof monitor;
export type { Alert, Sample, Thresholds } from './metrics';
