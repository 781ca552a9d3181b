/**
 * The README's Configuration table cannot drift from the code: every variable the config schema
 * knows is a row with the schema's default and doc line, every row is a known variable, and the
 * socket limits (server/socket/limits.ts) give the schema its bounds and defaults, and the service
 * its defaults.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { envSchema, loadConfig } from '../server/config';
import { limitList, socketDefaults } from '../server/socket/limits';

interface Row {
  name: string;
  /** The default column as written: `` `8100` ``, unset, random… */
  default: string;
  meaning: string;
}

/** The rows of the README's Configuration table, by variable. */
function readmeRows(): Map<string, Row> {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.split(/^## Configuration$/m)[1]?.split(/^## /m)[0];
  if (!section) throw new Error('README.md has no "## Configuration" section');
  const rows = new Map<string, Row>();
  for (const line of section.split('\n')) {
    const m = /^\| `([A-Z][A-Z0-9_]*)` \| (.*?) \| (.*) \|$/.exec(line);
    if (!m) continue;
    expect(rows.has(m[1]!), `README lists ${m[1]} twice`).to.equal(false);
    rows.set(m[1]!, { name: m[1]!, default: m[2]!, meaning: m[3]! });
  }
  return rows;
}

/** What the README writes in the default column of a variable without a default value. */
const noDefault = ['unset', 'empty', 'random', 'random per process'];

describe('README Configuration table', () => {
  const rows = readmeRows();
  const shape = envSchema.shape as Record<string, { description?: string }>;
  const defaults = envSchema.parse({}) as Record<string, unknown>;

  it('has a row for every variable of the config schema, with its default and doc line', () => {
    for (const name of Object.keys(shape)) {
      const row = rows.get(name);
      expect(row, `README has no row for ${name}`).to.not.equal(undefined);
      const value = defaults[name];
      if (value === undefined) expect(noDefault, `${name}: README default`).to.include(row!.default);
      else expect(row!.default, `${name}: README default`).to.equal(`\`${String(value)}\``);
      expect(row!.meaning, `${name}: README text (the schema's .describe)`).to.equal(shape[name]!.description);
    }
  });

  it('lists no variable the config schema does not know', () => {
    const unknown = [...rows.keys()].filter((name) => !(name in shape));
    expect(unknown).to.deep.equal([]);
  });

  it('says EXAMPLES_ENABLED turns the examples off', () => {
    expect(rows.get('EXAMPLES_ENABLED')).to.include({ default: '`true`' });
    expect(loadConfig({}).examplesEnabled).to.equal(true);
    expect(loadConfig({ EXAMPLES_ENABLED: 'false' }).examplesEnabled).to.equal(false);
  });
});

describe('socket limits (server/socket/limits.ts)', () => {
  const rows = readmeRows();

  it("each limit's README row has the table's default and doc line", () => {
    for (const l of limitList) {
      const row = rows.get(l.env);
      expect(row, `README has no row for ${l.env}`).to.not.equal(undefined);
      expect(row!.default, `${l.env}: README default`).to.equal(`\`${l.default}\``);
      expect(row!.meaning, `${l.env}: README text`).to.equal(l.doc);
    }
  });

  it('each limit has its own option and env var', () => {
    expect(new Set(limitList.map((l) => l.option)).size).to.equal(limitList.length);
    expect(new Set(limitList.map((l) => l.env)).size).to.equal(limitList.length);
  });

  it("socketDefaults has the service options' shape and the table's defaults", () => {
    expect(socketDefaults).to.deep.equal({
      maxPayload: 65_536,
      maxBufferedBytes: 1_048_576,
      pingIntervalMs: 25_000,
      shutdownTimeoutMs: 5_000,
      closeGraceMs: 1_000,
      inboxLimit: 64,
      maxChannelsPerConnection: 128,
      maxChannelNameLength: 128,
      historySize: 100,
      historyTtlMs: 300_000,
      presenceIntervalMs: 200,
      presenceListMax: 100,
      writeDelayMs: 0,
      clusterStatusTimeoutMs: 1_000,
      rateLimit: { perSecond: 50, burst: 100, maxStrikes: 250 },
      maxConnectionsPerIp: 256,
      adminConnectionsPerIp: 16,
      authTimeoutMs: 5_000,
      tokenWarnMs: 60_000,
      dedupeTtlMs: 120_000,
      dedupeMaxIds: 256,
      dedupePollMs: 50,
    });
    expect(loadConfig({}).socket).to.deep.equal(socketDefaults);
  });

  it('each env var sets its option, within its bounds', () => {
    for (const l of limitList) {
      const path = l.option.split('.');
      const read = (env: Record<string, string>) => path.reduce<any>((o, k) => o[k], loadConfig(env).socket);
      const lowest = l.minExclusive ? l.min + 0.5 : l.min;
      expect(read({ [l.env]: String(lowest) }), `${l.env}=${lowest}`).to.equal(lowest);
      expect(read({ [l.env]: String(l.default + 1) }), `${l.env}=${l.default + 1}`).to.equal(l.default + 1);
      const below = l.minExclusive ? l.min : l.min - 1;
      expect(() => loadConfig({ [l.env]: String(below) }), `${l.env}=${below}`).to.throw(new RegExp(`${l.env}="${below}"`));
      if (l.max !== undefined) expect(() => loadConfig({ [l.env]: String(l.max! + 1) })).to.throw(l.env);
      if (l.integer !== false) expect(() => loadConfig({ [l.env]: String(l.default + 0.5) }), `${l.env} fractional`).to.throw(l.env);
    }
  });
});
