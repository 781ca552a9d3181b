import type { Router } from 'express';
import type { Config } from '../config';
import type { SocketService } from '../socket/service';

/**
 * A feature is a controller: page routes on `router` plus socket routes on `sockets`
 * (absent when WS_ENABLED=false, so a feature registers no socket route then).
 */
export interface FeatureContext {
  router: Router;
  sockets?: SocketService;
  config: Config;
}
export type Feature = (ctx: FeatureContext) => void;
