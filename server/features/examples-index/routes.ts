import type { Request, Response } from 'express';
import { examplesIndexPage } from '../../../views/examples/index';
import type { Feature } from '../feature';
import { examples } from './examples';

/** The query string of a request, with its '?', or ''. */
function queryOf(req: Request): string {
  const i = req.originalUrl.indexOf('?');
  return i < 0 ? '' : req.originalUrl.slice(i);
}

/**
 * The index of live examples at /examples, and Base Framework's paths: /static/ (its index) and
 * /static/<name>.html answer with a permanent redirect to the wsforge page, query string kept,
 * so old links and bookmarks land on the same live page.
 */
export const examplesIndexFeature: Feature = ({ router, sockets }) => {
  router.get('/examples', (_req, res) => {
    res.type('html').send(examplesIndexPage({ examples, socketsEnabled: sockets !== undefined }));
  });

  const toIndex = (req: Request, res: Response) => res.redirect(301, `/examples${queryOf(req)}`);
  router.get(['/static', '/static/', '/static/index.html'], toIndex);
  for (const { name } of examples) {
    router.get(`/static/${name}.html`, (req, res) => res.redirect(301, `/examples/${name}${queryOf(req)}`));
  }
};
