// Sanity tests of the lab DNS tree, with the lab client only (no resolver):
// if these fail, every iterative-resolution test is suspect.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PlainRecord, query, records } from './client';
import {
  HIERARCHY_ANSWERS,
  Hierarchy,
  LONG_CHAIN,
  NXNS_FANOUT,
  hierarchyLayout,
  startFreeHierarchy,
  startHierarchy,
} from './hierarchy';
import { LAME_REFERRAL_TARGET, LabServer } from './server';

let h: Hierarchy;

before(async () => {
  // A random port: the ::1 server can then only be missing if ::1 itself cannot be bound.
  h = await startFreeHierarchy(0);
});
after(async () => {
  await h?.stop();
});

const B = (): number => h.net;
const ask = (role: string, name: string, type = 'A', opts: Parameters<typeof query>[3] = {}) =>
  query(h.endpoint(role), name, type, { timeoutMs: 1500, ...opts });
const rows = (section: PlainRecord[]): string[][] => section.map((r) => [r.name, r.type, String(r.data)]).sort();
const section = (s: Parameters<typeof records>[0], type?: string): PlainRecord[] => records(s, type);

describe('hierarchy layout', () => {
  // How fast it starts is a wall-clock matter (it failed under a loaded CI run): not asserted here.
  test('every role on 127.B.x.y:port, root hints for servers/@', () => {
    assert.ok(h.net >= 100 && h.net <= 250);
    for (const [role, s] of h.servers) {
      assert.equal(s.port, h.port, role);
      assert.equal(s.address, h.addr(role));
      assert.ok(role === 'v6' ? s.address === '::1' : s.address.startsWith(`127.${h.net}.`), `${role} ${s.address}`);
    }
    assert.deepEqual(h.rootHints, [`127.${B()}.0.1:${h.port}`, `127.${B()}.0.2:${h.port}`]);
    assert.equal(h.addr('example1'), `127.${B()}.3.1`);
    assert.throws(() => h.addr('nosuch'), /unknown role/);
    const roles = hierarchyLayout(h.net).map((s) => s.role);
    assert.equal(new Set(roles).size, roles.length, 'role names are unique');
    assert.equal(new Set(hierarchyLayout(h.net).map((s) => s.address)).size, roles.length, 'one address per role');
    assert.equal(h.servers.size, h.ipv6 ? roles.length : roles.length - 1);
    const lines = h.describe();
    assert.equal(lines.length, roles.length);
    assert.match(
      lines.find((l) => l.startsWith('lame1'))!,
      /refused.*lame\.test/,
    );
  });
});

describe('referrals from the root and the TLDs', () => {
  test('both root servers refer www.example.test to test, with glue; know their own names', async () => {
    for (const role of ['root1', 'root2']) {
      const { packet } = await ask(role, 'www.example.test');
      assert.equal(packet.rcode, 'NOERROR');
      assert.equal(packet.flag_aa, false);
      assert.equal(section(packet.answers).length, 0);
      assert.deepEqual(rows(section(packet.authorities)), [
        ['test', 'NS', 'ns1.nic.test'],
        ['test', 'NS', 'ns2.nic.test'],
      ]);
      assert.deepEqual(rows(section(packet.additionals)), [
        ['ns1.nic.test', 'A', `127.${B()}.1.1`],
        ['ns2.nic.test', 'A', `127.${B()}.1.2`],
      ]);
    }
    const self = await ask('root1', 'b.root-servers.lab');
    assert.ok(self.packet.flag_aa);
    assert.deepEqual(
      section(self.packet.answers).map((r) => r.data),
      [`127.${B()}.0.2`],
    );
    const apex = await ask('root2', '.', 'NS');
    assert.deepEqual(
      section(apex.packet.answers)
        .map((r) => r.data)
        .sort(),
      ['a.root-servers.lab', 'b.root-servers.lab'],
    );
    const ex = await ask('root1', 'ns.provider.example');
    assert.deepEqual(rows(section(ex.packet.authorities)), [['example', 'NS', 'a.nic.example']]);
    assert.deepEqual(rows(section(ex.packet.additionals)), [['a.nic.example', 'A', `127.${B()}.2.1`]]);
    const nx = await ask('root1', 'www.nosuch-tld');
    assert.equal(nx.packet.rcode, 'NXDOMAIN');
  });

  test('the test TLD refers example.test with glue, and example1/example2 answer', async () => {
    for (const role of ['tld1', 'tld2']) {
      const { packet } = await ask(role, 'www.example.test');
      assert.equal(packet.flag_aa, false);
      assert.deepEqual(rows(section(packet.authorities)), [
        ['example.test', 'NS', 'ns1.example.test'],
        ['example.test', 'NS', 'ns2.example.test'],
      ]);
      assert.deepEqual(rows(section(packet.additionals)), [
        ['ns1.example.test', 'A', `127.${B()}.3.1`],
        ['ns2.example.test', 'A', `127.${B()}.3.2`],
      ]);
    }
    for (const role of ['example1', 'example2']) {
      const { packet } = await ask(role, 'www.example.test');
      assert.ok(packet.flag_aa);
      assert.deepEqual(
        section(packet.answers).map((r) => r.data),
        HIERARCHY_ANSWERS['www.example.test'],
      );
      const six = await ask(role, 'www.example.test', 'AAAA');
      assert.deepEqual(
        section(six.packet.answers).map((r) => r.data),
        HIERARCHY_ANSWERS['www.example.test/AAAA'],
      );
    }
    const chain = await ask('example1', 'chain.example.test');
    assert.deepEqual(
      section(chain.packet.answers).map((r) => r.type),
      ['CNAME', 'CNAME', 'A'],
    );
    const wild = await ask('example2', 'anything.wild.example.test');
    assert.deepEqual(
      section(wild.packet.answers).map((r) => r.data),
      ['192.0.2.99'],
    );
    const big = await ask('example1', 'big.example.test', 'A', { transport: 'tcp' });
    assert.equal(section(big.packet.answers).length, 60);
    const nx = await ask('example1', 'nosuch.example.test');
    assert.equal(nx.packet.rcode, 'NXDOMAIN');
  });
});

describe('glueless delegations', () => {
  test('glueless.test: referral without glue; the provider answers the NS name and the zone', async () => {
    const { packet } = await ask('tld1', 'www.glueless.test');
    assert.deepEqual(rows(section(packet.authorities)), [['glueless.test', 'NS', 'ns.provider.example']]);
    assert.equal(section(packet.additionals).length, 0, 'no glue');
    const ref = await ask('example-tld', 'ns.provider.example');
    assert.deepEqual(rows(section(ref.packet.additionals)), [['ns1.provider.example', 'A', `127.${B()}.6.1`]]);
    const nsAddr = await ask('provider', 'ns.provider.example');
    assert.ok(nsAddr.packet.flag_aa);
    assert.deepEqual(
      section(nsAddr.packet.answers).map((r) => r.data),
      [`127.${B()}.6.1`],
    );
    const www = await ask('provider', 'www.glueless.test');
    assert.deepEqual(
      section(www.packet.answers).map((r) => r.data),
      HIERARCHY_ANSWERS['www.glueless.test'],
    );
  });

  // Walks the NS chain from the TLD referral: each hop's NS name is in a zone
  // whose own referral is glueless, until one comes with glue.
  async function gluelessDepth(tldRole: string, name: string): Promise<number> {
    const first = await ask(tldRole, name);
    assert.equal(section(first.packet.additionals).length, 0);
    let target = String(section(first.packet.authorities)[0]!.data);
    for (let depth = 1; depth < 10; depth++) {
      const { packet } = await ask('example-tld', target);
      assert.equal(section(packet.authorities, 'NS').length, 1, target);
      if (section(packet.additionals).length > 0) return depth;
      target = String(section(packet.authorities, 'NS')[0]!.data);
    }
    throw new Error('no end');
  }

  test('deep.test needs glueless depth 3, toodeep.test depth 6; both servers answer', async () => {
    assert.equal(await gluelessDepth('tld1', 'www.deep.test'), 3);
    assert.equal(await gluelessDepth('tld2', 'www.toodeep.test'), 6);
    for (const [role, name, answer] of [
      ['deep', 'ns.deep3.example', `127.${B()}.11.1`],
      ['deep', 'ns.deep1.example', `127.${B()}.11.1`],
      ['deep', 'www.deep.test', '192.0.2.70'],
      ['toodeep', 'ns.td6.example', `127.${B()}.11.2`],
      ['toodeep', 'www.toodeep.test', '192.0.2.71'],
    ] as const) {
      const { packet } = await ask(role, name);
      assert.ok(packet.flag_aa, name);
      assert.deepEqual(
        section(packet.answers).map((r) => r.data),
        [answer],
        name,
      );
    }
  });

  test('v6glueless.test: the NS name has only an AAAA record', async () => {
    const ref = await ask('tld1', 'www.v6glueless.test');
    assert.deepEqual(rows(section(ref.packet.authorities)), [['v6glueless.test', 'NS', 'ns.v6host.example']]);
    assert.equal(section(ref.packet.additionals).length, 0);
    const six = await ask('provider', 'ns.v6host.example', 'AAAA');
    assert.deepEqual(
      section(six.packet.answers).map((r) => r.data),
      ['::1'],
    );
    const four = await ask('provider', 'ns.v6host.example', 'A');
    assert.equal(four.packet.rcode, 'NOERROR');
    assert.equal(section(four.packet.answers).length, 0, 'NODATA for A');
  });

  test('nxns.test: attack.nxns.test has 30 glueless NS names that the victim says do not exist', async () => {
    const { packet } = await ask('nxns', 'www.attack.nxns.test', 'A', { transport: 'tcp' });
    const nsNames = section(packet.authorities, 'NS').map((r) => String(r.data));
    assert.equal(nsNames.length, NXNS_FANOUT);
    assert.ok(nsNames.every((n) => /^ns\d+\.victim\.example$/.test(n)));
    assert.equal(section(packet.additionals).length, 0);
    h.server('victim').resetQueries();
    const v = await ask('victim', 'ns17.victim.example');
    assert.equal(v.packet.rcode, 'NXDOMAIN');
    assert.equal(h.server('victim').queries.length, 1);
  });
});

describe('misbehaving servers', () => {
  test('lame.test: lame1 REFUSED, lame2 answers', async () => {
    const r = await ask('lame1', 'www.lame.test');
    assert.equal(r.packet.rcode, 'REFUSED');
    const ok = await ask('lame2', 'www.lame.test');
    assert.deepEqual(
      section(ok.packet.answers).map((x) => x.data),
      HIERARCHY_ANSWERS['www.lame.test'],
    );
  });

  test('uplame.test: uplame1 refers back up to the root, uplame2 answers', async () => {
    const { packet } = await ask('uplame1', 'www.uplame.test');
    assert.equal(packet.rcode, 'NOERROR');
    assert.equal(packet.flag_aa, false);
    assert.equal(section(packet.answers).length, 0);
    assert.deepEqual(rows(section(packet.authorities)), [['.', 'NS', LAME_REFERRAL_TARGET]]);
    const ok = await ask('uplame2', 'www.uplame.test');
    assert.deepEqual(
      section(ok.packet.answers).map((x) => x.data),
      HIERARCHY_ANSWERS['www.uplame.test'],
    );
  });

  test('dead.test: dead1 is silent, dead2 answers; alldead has no live server', async () => {
    await assert.rejects(ask('dead1', 'www.dead.test', 'A', { timeoutMs: 200 }), /timeout/);
    assert.ok(
      h.server('dead1').queries.some((q) => q.name === 'www.dead.test'),
      'the query arrived',
    );
    const ok = await ask('dead2', 'www.dead.test');
    assert.deepEqual(
      section(ok.packet.answers).map((x) => x.data),
      HIERARCHY_ANSWERS['www.dead.test'],
    );
    await Promise.all(
      ['alldead1', 'alldead2'].map((role) =>
        assert.rejects(ask(role, 'www.alldead.test', 'A', { timeoutMs: 200 }), /timeout/),
      ),
    );
  });

  test('slow.test answers after 400 ms', async () => {
    const t0 = Date.now();
    const { packet } = await ask('slow', 'www.slow.test');
    assert.ok(Date.now() - t0 >= 350, `${Date.now() - t0} ms`);
    assert.deepEqual(
      section(packet.answers).map((x) => x.data),
      HIERARCHY_ANSWERS['www.slow.test'],
    );
  });

  test('trunc.test: TC over UDP even with EDNS, everything over TCP', async () => {
    const udp = await ask('trunc', 'www.trunc.test', 'A', { edns: 4096 });
    assert.ok(udp.packet.flag_tc);
    const tcp = await ask('trunc', 'www.trunc.test', 'A', { transport: 'tcp' });
    assert.deepEqual(
      section(tcp.packet.answers).map((x) => x.data),
      HIERARCHY_ANSWERS['www.trunc.test'],
    );
    const big = await ask('trunc', 'big.trunc.test', 'TXT', { transport: 'tcp' });
    assert.equal(section(big.packet.answers).length, 30);
  });

  test('poison.test: the real answer plus injected example.test records pointing at the evil server', async () => {
    const { packet } = await ask('poison', 'www.poison.test');
    assert.ok(packet.flag_aa);
    assert.deepEqual(rows(section(packet.answers)), [
      ['www.example.test', 'A', '6.6.6.6'],
      ['www.poison.test', 'A', '192.0.2.66'],
    ]);
    assert.deepEqual(rows(section(packet.authorities)), [['example.test', 'NS', 'ns.evil.poison.test']]);
    assert.deepEqual(rows(section(packet.additionals)), [
      ['ns1.example.test', 'A', `127.${B()}.66.6`],
      ['www.example.test', 'A', '6.6.6.6'],
    ]);
    const evilNs = await ask('poison', 'ns.evil.poison.test');
    assert.deepEqual(
      section(evilNs.packet.answers, 'A').map((x) => x.data),
      [`127.${B()}.66.6`, '6.6.6.6'],
    );
    const evil = await ask('evil', 'www.example.test');
    assert.deepEqual(
      section(evil.packet.answers).map((x) => x.data),
      ['6.6.6.6'],
    );
  });
});

describe('CNAMEs', () => {
  // Follows the chain server by server the way a resolver would (the lab
  // server chases at most 9 CNAMEs per reply), counting CNAME records.
  async function walk(start: string): Promise<{ cnames: number; final: string[] }> {
    let cnames = 0;
    let name = start;
    for (let i = 0; i < 10; i++) {
      const { packet } = await ask('cname', name, 'A', { transport: 'tcp' });
      const answers = section(packet.answers);
      cnames += answers.filter((r) => r.type === 'CNAME').length;
      const a = answers.filter((r) => r.type === 'A');
      if (a.length > 0) return { cnames, final: a.map((r) => String(r.data)) };
      name = String(answers.at(-1)!.data);
    }
    throw new Error(`no end to ${start}`);
  }

  test('chain16 has exactly 16 CNAMEs, chain17 17, c1 20, each ending in an A', async () => {
    assert.deepEqual(await walk('chain16.cname.test'), { cnames: 16, final: ['192.0.2.91'] });
    assert.deepEqual(await walk('chain17.cname.test'), { cnames: 17, final: ['192.0.2.92'] });
    assert.deepEqual(await walk('c1.cname.test'), { cnames: LONG_CHAIN, final: ['192.0.2.90'] });
  });

  test('cross-zone CNAME stops at the zone edge; loop1 and loop2 point at each other', async () => {
    const www = await ask('cname', 'www.cname.test');
    assert.deepEqual(rows(section(www.packet.answers)), [['www.cname.test', 'CNAME', 'www.example.test']]);
    const loop = await ask('cname', 'loop1.cname.test', 'CNAME');
    assert.deepEqual(
      section(loop.packet.answers).map((r) => r.data),
      ['loop2.cname.test'],
    );
    const back = await ask('cname', 'loop2.cname.test', 'CNAME');
    assert.deepEqual(
      section(back.packet.answers).map((r) => r.data),
      ['loop1.cname.test'],
    );
  });
});

describe('IPv6', () => {
  test('v6only.test: AAAA-only glue, and the ::1 server answers', async (t) => {
    const ref = await ask('tld2', 'www.v6only.test');
    assert.deepEqual(rows(section(ref.packet.authorities)), [['v6only.test', 'NS', 'ns.v6only.test']]);
    assert.deepEqual(rows(section(ref.packet.additionals)), [['ns.v6only.test', 'AAAA', '::1']]);
    if (!h.ipv6) {
      t.skip(`the ::1 server is not running: ${h.ipv6Skipped}`);
      return;
    }
    for (const transport of ['udp', 'tcp'] as const) {
      const { packet } = await query({ address: '::1', port: h.port }, 'www.v6only.test', 'A', {
        transport,
        timeoutMs: 1500,
      });
      assert.deepEqual(
        section(packet.answers).map((r) => r.data),
        HIERARCHY_ANSWERS['www.v6only.test'],
        transport,
      );
    }
    const g = await ask('v6', 'www.v6glueless.test');
    assert.deepEqual(
      section(g.packet.answers).map((r) => r.data),
      HIERARCHY_ANSWERS['www.v6glueless.test'],
    );
  });
});

describe('several hierarchies', () => {
  test('two startFreeHierarchy calls in parallel on one port get distinct nets and both work', async () => {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const [x, y] = await Promise.all([startFreeHierarchy(port), startFreeHierarchy(port)]);
    try {
      assert.notEqual(x.net, y.net);
      assert.equal(x.port, port);
      assert.equal(y.port, port);
      assert.ok(!(x.ipv6 && y.ipv6), 'only one can hold [::1]:port');
      for (const z of [x, y]) {
        const { packet } = await query(z.endpoint('example1'), 'www.example.test', 'A', { timeoutMs: 1500 });
        assert.deepEqual(
          section(packet.answers).map((r) => r.data),
          ['192.0.2.80'],
        );
        const ref = await query(z.endpoint('root1'), 'www.example.test', 'A', { timeoutMs: 1500 });
        assert.ok(section(ref.packet.additionals).every((r) => String(r.data).startsWith(`127.${z.net}.`)));
      }
    } finally {
      await Promise.all([x.stop(), y.stop()]);
    }
  });

  test('a clash fails with EADDRINUSE and releases what it had bound', async () => {
    await assert.rejects(
      startHierarchy({ net: h.net, port: h.port, ipv6: false }),
      (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE',
    );
    const { packet } = await ask('root1', 'www.example.test');
    assert.equal(section(packet.authorities).length, 2, 'the running hierarchy is unharmed');
    // Block only one address of a fresh net: the other servers bind, then must be released.
    const probe = await startFreeHierarchy(h.port, { ipv6: false });
    const net = probe.net;
    await probe.stop();
    const blocker = await LabServer.start({
      address: `127.${net}.5.5`,
      port: h.port,
      zones: hierarchyLayout(net)[0]!.zones,
    });
    try {
      await assert.rejects(
        startHierarchy({ net, port: h.port, ipv6: false }),
        /1 server\(s\) failed to start: slow 127\.\d+\.5\.5:\d+: .*EADDRINUSE/,
      );
    } finally {
      await blocker.stop();
    }
    const again = await startHierarchy({ net, port: h.port, ipv6: false });
    await again.stop();
    await again.stop(); // idempotent
  });
});
