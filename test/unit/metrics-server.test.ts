// The METRICS HTTP endpoint on loopback: GET /metrics only, 503 before
// serve(), and bad requests answered or cut off without harming it.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { freeLoopback } from '../lab/addresses';
import { Log, MemorySink } from '../../src/log/log';
import { CONTENT_TYPE } from '../../src/metrics/exposition';
import { MAX_CONNECTIONS, MetricsServer } from '../../src/metrics/server';
import { parseExposition, valueOf } from './metrics-parse';

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(address: string, port: number, path: string, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: address, port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends raw bytes, returns whatever comes back before the server closes (or 2 s pass). */
function raw(address: string, port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: address, port });
    let got = '';
    const timer = setTimeout(() => sock.destroy(), 2000);
    sock.on('data', (c) => (got += c.toString('latin1')));
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    sock.write(bytes, () => sock.end());
  });
}

describe('MetricsServer', () => {
  let server: MetricsServer;
  let address: string;
  let port: number;
  let scrapes = 0;
  const sink = new MemorySink();
  const render = (): string => {
    scrapes++;
    if (scrapes === 1000) throw new Error('boom');
    return `# HELP demo_total A demo.\n# TYPE demo_total counter\ndemo_total ${scrapes}\n`;
  };

  before(async () => {
    address = await freeLoopback(0);
    server = new MetricsServer({ address, port: 0 }, render, new Log(sink));
    await server.start();
    port = server.address()!.port;
  });
  after(() => server.close());

  it('answers 503 until serve()', async () => {
    const r = await request(address, port, '/metrics');
    assert.equal(r.status, 503);
    assert.equal(scrapes, 0);
    server.serve();
  });

  it('GET /metrics: 200, the 0.0.4 content type, the text', async () => {
    const r = await request(address, port, '/metrics');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], CONTENT_TYPE);
    assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body));
    assert.equal(valueOf(parseExposition(r.body), 'demo_total'), scrapes);
    const withQuery = await request(address, port, '/metrics?name[]=x');
    assert.equal(withQuery.status, 200);
  });

  it('HEAD /metrics: headers only', async () => {
    const r = await request(address, port, '/metrics', 'HEAD');
    assert.equal(r.status, 200);
    assert.equal(r.body, '');
  });

  it('other paths: 404; other methods: 405 with Allow', async () => {
    for (const path of ['/', '/metrics/', '/METRICS', '/metricsx', '/favicon.ico', '*']) {
      assert.equal((await request(address, port, path)).status, 404, path);
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const r = await request(address, port, '/metrics', method);
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'GET, HEAD');
    }
  });

  it('malformed or oversized requests get 400 (or a closed connection), and it keeps serving', async () => {
    const answers = await Promise.all([
      raw(address, port, 'garbage\r\n\r\n'),
      raw(address, port, Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 13, 10, 13, 10])),
      raw(address, port, `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`),
      raw(address, port, 'GET /metrics HTTP/1.1\r\nContent-Length: nope\r\n\r\n'),
      raw(address, port, 'GET /metrics HTTP/1.1\r\nHost: x\r\n'), // ends before the headers do
    ]);
    for (const a of answers.slice(0, 4)) assert.match(a, /^HTTP\/1\.1 4\d\d /);
    const r = await request(address, port, '/metrics');
    assert.equal(r.status, 200);
  });

  it('a failing render is a 500 and a warning, not a crash', async () => {
    scrapes = 999;
    const r = await request(address, port, '/metrics');
    assert.equal(r.status, 500);
    assert.ok(
      sink.lines.some((l) => /^dnscache: warning: METRICS: unable to render metrics: boom$/.test(l)),
      sink.lines.join('\n'),
    );
    assert.equal((await request(address, port, '/metrics')).status, 200);
  });

  it('past MAX_CONNECTIONS, a new connection closes the oldest idle one instead of being reset', async () => {
    /** A kept-alive connection that has had one scrape answered, and a promise of its close. */
    const keptAlive = (): Promise<{ sock: net.Socket; closed: Promise<void> }> =>
      new Promise((resolve, reject) => {
        const sock = net.connect({ host: address, port });
        sock.on('error', () => {});
        const closed = new Promise<void>((done) => sock.on('close', () => done()));
        void closed.then(() => reject(new Error('closed before it was answered')));
        let got = '';
        sock.on('data', (c) => {
          got += c.toString('latin1');
          if (/\r\n\r\n[\s\S]*demo_total \d+\n$/.test(got)) resolve({ sock, closed });
        });
        sock.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
      });
    const open = [];
    for (let i = 0; i < MAX_CONNECTIONS; i++) open.push(await keptAlive());
    let firstClosed = false;
    void open[0]!.closed.then(() => (firstClosed = true));
    const extra = await keptAlive(); // answered: room was made
    await open[0]!.closed;
    assert.ok(firstClosed, 'the oldest idle connection was closed');
    for (const c of [...open.slice(1), extra]) c.sock.destroy();
  });

  it('refuses to start on a port in use', async () => {
    const other = new MetricsServer({ address, port }, render, new Log(new MemorySink()));
    await assert.rejects(other.start(), /EADDRINUSE/);
    await other.close();
  });
});
