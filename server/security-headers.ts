import helmet from 'helmet';
import type { RequestHandler } from 'express';

/**
 * helmet's headers with a Content-Security-Policy that allows no inline script: every page
 * script is a module file under /js. Inline styles stay allowed because CodeMirror and
 * Chart.js set them at run time; they cannot execute code.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // HSTS belongs to the TLS proxy in front (docs/security.md); over plain http it would only confuse.
    strictTransportSecurity: false,
  });
}
