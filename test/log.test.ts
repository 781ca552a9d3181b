/**
 * The connection's logger (server/socket/log.ts): lines carry the connection and user, in every
 * pino call form, through a real service and a real pino logger writing to a captured stream.
 */
import { expect } from 'chai';
import { pino } from 'pino';
import { z } from 'zod';
import type { Feature } from '../server/features/feature';
import { defineHandler } from '../server/socket/handler';
import { defineProtocol } from '../server/socket/protocol';
import { closeAll, connect, eventually, startApp } from './helpers';

const protocol = defineProtocol({
  client: {
    say: z.object({ form: z.enum(['msg', 'obj', 'err', 'format', 'debug', 'child']) }),
    crash: z.object({}),
  },
  server: {},
});

const handler = defineHandler(protocol, {
  say: (_svc, _conn, { form }, { log }) => {
    if (form === 'msg') log.info('plain message');
    if (form === 'obj') log.info({ extra: 42 }, 'with an object');
    if (form === 'err') log.warn(new Error('boom'), 'with an error');
    if (form === 'format') log.info('formatted %s and %d', 'text', 7);
    // The logger is at info: this line must not appear.
    if (form === 'debug') log.debug('hidden');
    if (form === 'child') log.child({ part: 'sub' }).info('from a child');
    return log.isLevelEnabled('debug');
  },
  crash: () => {
    throw new Error('handler exploded');
  },
});

const feature: Feature = ({ sockets }) => {
  sockets?.route('/log', () => ({ channel: 'logs', handler }), { anonymous: true });
};

describe('connection log', () => {
  afterEach(closeAll);

  it('tags every line with the connection and user, in each pino call form, and writes nothing at disabled levels', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const t = await startApp({ logger, features: [feature] });
    const c = await connect(t.url('/log'));
    const conn = t.app.sockets!.getConnections()[0]!;
    const tags = { conn: conn.id, user: conn.profile.id };
    for (const form of ['msg', 'obj', 'err', 'format', 'debug', 'child']) {
      expect(await c.request('logs', 'say', { form })).to.deep.include({ cmd: 'reply', param: false });
    }
    expect(await c.request('logs', 'crash', {})).to.deep.include({ cmd: 'error', param: { code: 'internal_error', message: 'internal error' } });
    const mine = await eventually(() => {
      const tagged = lines.filter((l) => l.conn === conn.id);
      if (tagged.length < 6) throw new Error(`${tagged.length} tagged lines`);
      return tagged;
    });
    expect(mine.map((l) => [l.level, l.msg])).to.deep.equal([
      [30, 'plain message'],
      [30, 'with an object'],
      [40, 'with an error'],
      [30, 'formatted text and 7'],
      [30, 'from a child'],
      [50, 'handler failed'],
    ]);
    for (const l of mine) expect(l).to.include(tags);
    expect(mine[1]).to.include({ extra: 42 });
    expect(mine[2]!.err).to.include({ type: 'Error', message: 'boom' });
    expect(mine[4]).to.include({ part: 'sub' });
    expect((mine[5]!.err as { message: string }).message).to.equal('handler exploded');
    expect(lines.some((l) => l.msg === 'hidden')).to.equal(false);
  });
});
