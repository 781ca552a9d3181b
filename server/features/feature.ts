import type { Router } from 'express';
import type { Config } from '../config';
import type { GuestIdentity } from '../guest';
import type { Sockets } from '../socket';
import type { StateStore } from '../store/store';

/**
 * A feature is a controller: page routes on `router` plus socket routes on `sockets`
 * (absent when WS_ENABLED=false, so a feature registers no socket route then).
 */
export interface FeatureContext {
  router: Router;
  sockets?: Sockets;
  config: Config;
  /** Shared state of features (one state for the whole cluster once the store is Redis). */
  store: StateStore;
  /** Signed anonymous identity for pages without login; use `guests.profile(req, url)` in socket routes. */
  guests: GuestIdentity;
}
export type Feature = (ctx: FeatureContext) => void;
