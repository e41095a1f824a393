// Routes to backends that register in etcd (dnsrouter's), with the real
// things: an etcd member (Debian etcd-server) and NSD processes as the
// backends, each answering *.route.test with its own address, so an answer
// says which backend gave it. dnscache forwards everything else to a lab
// server whose wildcard answer is 192.0.2.1.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { controlRequest } from '../../src/control/client';
import { freeLoopback } from '../lab/addresses';
import { query, records } from '../lab/client';
import { LabZone } from '../lab/zone';
import { freshName, startLab, suiteScope, waitFor, WILDCARD_ADDRESS } from '../e2e/fixtures';
import { Dnscache, startDnscache } from '../e2e/harness';
import { Daemon, findBinary, missingPackage, Restartable, waitUntil } from './daemon';
import { Etcd, etcdMissing } from './etcd';
import { fqdn, nsdConf, zoneFileText } from './nsd';

const BACKEND_PORT = 5353;

/** One NSD answering `*.route.test A <its address>`; stop() and start() again as a real backend would go and come back. */
class Backend extends Restartable {
  private constructor(
    readonly address: string,
    dir: string,
  ) {
    super(dir);
  }

  static async start(): Promise<Backend> {
    const address = await freeLoopback(BACKEND_PORT);
    const dir = fs.mkdtempSync(join(tmpdir(), 'dnscache-backend-'));
    const zone: LabZone = {
      origin: 'route.test',
      records: [
        {
          name: 'route.test',
          type: 'SOA',
          data: {
            mname: 'ns.route.test',
            rname: 'hostmaster.route.test',
            serial: 1,
            refresh: 3600,
            retry: 600,
            expire: 86400,
            minimum: 60,
          },
        },
        { name: 'route.test', type: 'NS', data: 'ns.route.test' },
        { name: 'ns.route.test', type: 'A', data: address },
        { name: '*.route.test', type: 'A', data: address },
      ],
    };
    fs.writeFileSync(join(dir, 'route.test.zone'), zoneFileText(zone));
    fs.writeFileSync(join(dir, 'nsd.conf'), nsdConf(dir, address, BACKEND_PORT, [zone]));
    const b = new Backend(address, dir);
    await b.resume();
    return b;
  }

  get line(): string {
    return `${this.address}:${BACKEND_PORT}`;
  }

  async resume(): Promise<void> {
    const d = new Daemon(`nsd ${this.address}`, findBinary('nsd')!, ['-d', '-c', join(this.dir, 'nsd.conf')]);
    this.daemon = d;
    await waitUntil(
      async () =>
        (
          await query({ address: this.address, port: BACKEND_PORT }, fqdn('route.test'), 'SOA', {
            rd: false,
            timeoutMs: 250,
          })
        ).packet.rcode === 'NOERROR',
      {
        timeoutMs: 8000,
        alive: () => d.alive,
        describe: () => d.output,
      },
    );
  }
}

/** The address in the A answer for `name`, or the rcode when there is none. */
async function answeredBy(dns: Dnscache, name: string): Promise<string> {
  const r = await query(dns, name, 'A', { timeoutMs: 5000 });
  const a = records(r.packet.answers, 'A');
  return a.length > 0 ? String(a[0]!.data) : r.packet.rcode;
}

let names = 0;
/** A name under route.test, new to every cache: `<prefix><n>-<pid>.route.test`. */
function routeName(prefix: string): string {
  return `${prefix}${++names}-${process.pid}.route.test`;
}

const missing = etcdMissing() ?? missingPackage('nsd', ['nsd']);

describe('routes (dnsrouter): the routes file and etcd, with real backends', { skip: missing ?? false }, () => {
  const scope = suiteScope();

  it('routes from the file and from etcd; puts, changes and deletes take effect without a reload; health; etcd down and back; two instances alike', async () => {
    const [etcd, a, b] = await Promise.all([Etcd.start(), Backend.start(), Backend.start()]);
    scope.after(() => Promise.all([etcd.stop(), a.stop(), b.stop()]));
    const lab = await startLab(scope);
    const control = join(fs.mkdtempSync(join(tmpdir(), 'dnscache-routes-ctl-')), 'control');
    const env = { ETCD: etcd.url, ROUTECHECK: '1' };
    const files = { routes: `# the file's routes\n${a.line},^f[0-9a-z-]*\\.route\\.test\\.$\n` };
    const dns = await startDnscache({ upstreams: [lab], env: { ...env, CONTROL: control }, files }, scope);
    await dns.waitForLog(/^etcd routes 0$/);

    // The file's route: names it matches go to backend a; other names as before (the lab).
    assert.equal(await answeredBy(dns, routeName('f')), a.address);
    assert.equal(await answeredBy(dns, freshName('elsewhere')), WILDCARD_ADDRESS);
    assert.notEqual(
      await answeredBy(dns, `x.${routeName('f')}`),
      a.address,
      'a name the pattern does not match is not routed',
    );

    // An etcd put: in force as soon as etcd reports it, no reload.
    etcd.put('/dnsrouter/backend-b', `${b.line},^e[0-9a-z-]*\\.route\\.test\\.$`);
    await dns.waitForLogs(/^etcd put \/dnsrouter\/backend-b$/, 1, 3000);
    assert.equal(await answeredBy(dns, routeName('e')), b.address);
    // Changed to backend a, then deleted: the name goes where servers/@ says again.
    etcd.put('/dnsrouter/backend-b', `${a.line},^e[0-9a-z-]*\\.route\\.test\\.$`);
    await dns.waitForLogs(/^etcd put \/dnsrouter\/backend-b$/, 2, 3000);
    assert.equal(await answeredBy(dns, routeName('e')), a.address);
    etcd.del('/dnsrouter/backend-b');
    await dns.waitForLogs(/^etcd delete \/dnsrouter\/backend-b$/, 1, 3000);
    const asked = lab.queries.length;
    assert.notEqual(await answeredBy(dns, routeName('e')), a.address);
    assert.ok(lab.queries.length > asked, 'servers/@ was asked');

    // Two routes for one pattern: the backends take turns.
    etcd.put('/dnsrouter/rr-a', `${a.line},^rr[0-9a-z-]*\\.route\\.test\\.$`);
    etcd.put('/dnsrouter/rr-b', `${b.line},^rr[0-9a-z-]*\\.route\\.test\\.$`);
    await dns.waitForLogs(/^etcd put \/dnsrouter\/rr-b$/, 1, 3000);
    const turns: string[] = [];
    for (let i = 0; i < 6; i++) turns.push(await answeredBy(dns, routeName('rr')));
    assert.deepEqual(new Set(turns), new Set([a.address, b.address]), `turns: ${turns.join(' ')}`);
    assert.ok(
      turns.every((x, i) => i === 0 || x !== turns[i - 1]),
      `one after the other: ${turns.join(' ')}`,
    );

    // Backend b goes: out of rotation at its next check, every rr name goes to a; back when it answers.
    await b.pause();
    await dns.waitForLogs(new RegExp(`^route backend ${b.line.replace(/\./g, '\\.')} down$`), 1, 5000);
    for (let i = 0; i < 4; i++) assert.equal(await answeredBy(dns, routeName('rr')), a.address);
    const listed = (await controlRequest(control, { cmd: 'routes' })) as unknown as {
      routes: Array<{ source: string; backend: string; health: string; queries: number }>;
    };
    assert.deepEqual(
      listed.routes.map((r) => [r.source, r.backend, r.health]),
      [
        ['routes line 2', a.line, 'up'],
        ['etcd key /dnsrouter/rr-a', a.line, 'up'],
        ['etcd key /dnsrouter/rr-b', b.line, 'down'],
      ],
    );
    await b.resume();
    await dns.waitForLogs(new RegExp(`^route backend ${b.line.replace(/\./g, '\\.')} up$`), 1, 5000);
    const back: string[] = [];
    for (let i = 0; i < 4; i++) back.push(await answeredBy(dns, routeName('rr')));
    assert.ok(back.includes(b.address), `b back in rotation: ${back.join(' ')}`);

    // etcd goes: the routes read stay in force, and answers go on.
    await etcd.pause();
    await dns.waitForLogs(/^dnscache: warning: etcd .* unreachable .*keeping 2 routes from it/, 1, 10000);
    assert.equal((await answeredBy(dns, routeName('rr'))) !== 'SERVFAIL', true);
    assert.equal(await answeredBy(dns, routeName('f')), a.address);
    // etcd comes back (with its keys): a put made now takes effect.
    await etcd.resume();
    etcd.put('/dnsrouter/back', `${b.line},^back[0-9a-z-]*\\.route\\.test\\.$`);
    await waitFor(
      'the route put after etcd came back',
      async () => ((await answeredBy(dns, routeName('back'))) === b.address ? true : undefined),
      40000,
      300,
    );

    // A second instance on the same etcd routes alike from the start.
    const other = await startDnscache({ upstreams: [lab], env }, scope);
    await other.waitForLogs(/^etcd routes 3$/, 1, 5000);
    assert.equal(await answeredBy(other, routeName('back')), b.address);
    etcd.put('/dnsrouter/both', `${a.line},^both[0-9a-z-]*\\.route\\.test\\.$`);
    await Promise.all([
      dns.waitForLogs(/^etcd put \/dnsrouter\/both$/, 1, 3000),
      other.waitForLogs(/^etcd put \/dnsrouter\/both$/, 1, 3000),
    ]);
    assert.equal(await answeredBy(dns, routeName('both')), a.address);
    assert.equal(await answeredBy(other, routeName('both')), a.address);
  });

  it('ROUTEONLY: a name no route matches gets SERVFAIL; zone transfers of a routed name are refused', async () => {
    const backend = await Backend.start();
    scope.after(() => backend.stop());
    const lab = await startLab(scope);
    const dns = await startDnscache(
      { upstreams: [lab], env: { ROUTEONLY: '1' }, files: { routes: `${backend.line},\\.route\\.test\\.$\n` } },
      scope,
    );
    assert.equal(await answeredBy(dns, freshName('x')), 'SERVFAIL');
    assert.equal(lab.queries.length, 0, 'nothing asked of servers/@');
    assert.equal(await answeredBy(dns, routeName('w')), backend.address);
    for (const type of ['AXFR', 'IXFR']) {
      const r = await query(dns, 'w.route.test', type, { transport: 'tcp' });
      assert.equal(r.packet.rcode, 'REFUSED', type);
    }
  });
});
