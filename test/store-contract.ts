/**
 * What every StateStore must do (server/store/store.ts), as one suite run against each
 * implementation: MemoryStore and DurableStore (test/store.test.ts), RedisStore
 * (test/cluster.test.ts, where Redis runs). `open` gives two handles on one state (the same
 * object for memory, two opens of one directory, two Redis connections), so "one state" and
 * "serialized" are checked across handles, not only within one.
 */
import { expect } from 'chai';
import type { StateStore } from '../server/store/store';

export interface ContractStores {
  a: StateStore;
  b: StateStore;
}

/** Registers the contract's tests; `open(name)` gives a fresh, empty state for each test. */
export function storeContract(open: (name: string) => Promise<ContractStores> | ContractStores): void {
  let n = 0;
  const fresh = () => open(`contract${++n}`);

  it('gets, sets, updates, appends, lists, finds keys and deletes, as one state for two handles', async () => {
    const { a: s1, b: s2 } = await fresh();
    expect(await s1.get('nothing')).to.equal(undefined);
    await s1.set('room:a', { n: 1, tags: ['x'] });
    expect(await s2.get('room:a')).to.deep.equal({ n: 1, tags: ['x'] });
    expect(await s2.update<{ n: number }>('room:a', (cur) => ({ n: cur!.n + 1 }))).to.deep.equal({ n: 2 });
    expect(await s1.get('room:a')).to.deep.equal({ n: 2 });
    expect(await s1.update<number>('fresh', (cur) => (cur ?? 10) + 1)).to.equal(11);
    for (const i of [1, 2, 3, 4]) await s1.append('log:a', { i }, 3);
    expect(await s2.list('log:a')).to.deep.equal([{ i: 2 }, { i: 3 }, { i: 4 }]);
    expect(await s2.list('log:none')).to.deep.equal([]);
    await s2.set('room:b*[?]', 'odd name');
    expect((await s1.keys('room:')).sort()).to.deep.equal(['room:a', 'room:b*[?]']);
    expect(await s1.keys('log:')).to.deep.equal(['log:a']);
    expect(await s1.keys('room:b*')).to.deep.equal(['room:b*[?]']);
    expect(await s1.keys('nope:')).to.deep.equal([]);
    await s2.delete('room:a');
    await s2.delete('log:a');
    expect(await s1.get('room:a')).to.equal(undefined);
    expect(await s1.list('log:a')).to.deep.equal([]);
    expect(await s1.keys('log:')).to.deep.equal([]);
    // A list starts again empty after a delete.
    await s1.append('log:a', { i: 9 }, 3);
    expect(await s2.list('log:a')).to.deep.equal([{ i: 9 }]);
  });

  it('serializes concurrent updates from two handles: N increments each end at exactly 2N', async () => {
    const { a: s1, b: s2 } = await fresh();
    const count = 200;
    const loop = async (s: StateStore) => {
      for (let i = 0; i < count; i++) await s.update<number>('counter', (c) => (c ?? 0) + 1);
    };
    await Promise.all([loop(s1), loop(s2)]);
    expect(await s1.get('counter')).to.equal(2 * count);
    // A burst: every update of both at once.
    const burst = (s: StateStore) => Promise.all(Array.from({ length: count }, () => s.update<number>('burst', (c) => (c ?? 0) + 1)));
    const results = (await Promise.all([burst(s1), burst(s2)])).flat();
    expect(await s2.get('burst')).to.equal(2 * count);
    expect(new Set(results).size, 'each update saw its own value').to.equal(2 * count);
  });

  it('keeps appends of a burst, in order, trimmed to the last `max`', async () => {
    const { a: s1, b: s2 } = await fresh();
    await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? s1 : s2).append('log:burst', i, 10)));
    const list = await s1.list<number>('log:burst');
    expect(list).to.have.length(10);
    expect(new Set(list).size).to.equal(10);
  });

  it('leaves the value as it was when an update function throws, and rejects with its error', async () => {
    const { a: s1, b: s2 } = await fresh();
    await s1.set('k', { v: 1 });
    const boom = new Error('refused');
    let thrown: unknown;
    await s2
      .update<{ v: number }>('k', () => {
        throw boom;
      })
      .catch((err: unknown) => (thrown = err));
    expect(thrown).to.equal(boom);
    expect(await s1.get('k')).to.deep.equal({ v: 1 });
    // Updates after it still work.
    expect(await s1.update<{ v: number }>('k', (c) => ({ v: c!.v + 1 }))).to.deep.equal({ v: 2 });
  });

  it('hands out copies: changing what get, list or update returned changes nothing stored', async () => {
    const { a: s1 } = await fresh();
    await s1.set('obj', { list: [1] });
    const got = (await s1.get<{ list: number[] }>('obj'))!;
    got.list.push(2);
    expect(await s1.get('obj')).to.deep.equal({ list: [1] });
    const updated = (await s1.update<{ list: number[] }>('obj', (c) => c!))!;
    updated.list.push(3);
    expect(await s1.get('obj')).to.deep.equal({ list: [1] });
    await s1.append('items', { x: 1 }, 5);
    (await s1.list<{ x: number }>('items'))[0]!.x = 99;
    expect(await s1.list('items')).to.deep.equal([{ x: 1 }]);
  });
}
