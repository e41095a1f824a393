// The METRICS endpoint: GET /metrics over HTTP/1.1 (node:http), nothing
// else. Bound with the DNS sockets, before any chroot or privilege drop,
// and answering only once the service serves. A bad request costs the
// client a 4xx or its connection, never the process; connections, header
// size and time are capped, as it may face more than a Prometheus server.

import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { Log } from '../log/log';
import { CONTENT_TYPE } from './exposition';

export interface MetricsListen {
  readonly address: string;
  /** 0 picks a free port (tests); see address(). */
  readonly port: number;
}

/**
 * Connections open at once. A new one past it closes the oldest idle one
 * (a scraper that keeps its connection alive must not lock the next one
 * out); only when all are busy is the new one refused.
 */
export const MAX_CONNECTIONS = 32;
const HEADERS_TIMEOUT_MS = 5000;
const REQUEST_TIMEOUT_MS = 10000;
const IDLE_TIMEOUT_MS = 30000;
const MAX_HEADER_BYTES = 8192;

export class MetricsServer {
  private server: Server | null = null;
  private serving = false;
  /** Open connections, oldest first, and whether a request is in progress on each. */
  private readonly connections = new Map<Socket, boolean>();

  constructor(
    private readonly listen: MetricsListen,
    /** The body of a scrape; a promise when it is gathered from other processes (WORKERS). */
    private readonly render: () => string | Promise<string>,
    private readonly log: Log,
  ) {}

  /** Binds (may need the privileges the process is about to drop); answers 503 until serve(). */
  start(): Promise<void> {
    const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => this.onRequest(req, res));
    server.on('connection', (socket: Socket) => this.admit(socket));
    server.headersTimeout = HEADERS_TIMEOUT_MS;
    server.requestTimeout = REQUEST_TIMEOUT_MS;
    server.keepAliveTimeout = IDLE_TIMEOUT_MS;
    server.maxHeadersCount = 64;
    server.setTimeout(IDLE_TIMEOUT_MS, (socket) => socket.destroy());
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      // Malformed HTTP, oversized headers, timeouts: answer 400 if the socket still can, then close it.
      if (err.code !== 'ECONNRESET' && socket.writable) {
        socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      }
      socket.destroy();
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.listen.address, port: this.listen.port, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.log.warning(`METRICS listener: ${err.message}`));
        resolve();
      });
    });
  }

  /** Starts answering scrapes. */
  serve(): void {
    this.serving = true;
  }

  /** Where it listens (after start()). */
  address(): AddressInfo | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a : null;
  }

  /** A new connection: room is made by closing the oldest idle one; with none idle, it is refused. */
  private admit(socket: Socket): void {
    if (this.connections.size >= MAX_CONNECTIONS) {
      let idle: Socket | null = null;
      for (const [s, busy] of this.connections) {
        if (!busy) {
          idle = s;
          break;
        }
      }
      if (idle === null) {
        socket.destroy();
        return;
      }
      this.connections.delete(idle);
      idle.destroy();
    }
    this.connections.set(socket, false);
    socket.on('close', () => this.connections.delete(socket));
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    res.on('error', () => {});
    const socket = req.socket;
    if (this.connections.has(socket)) {
      this.connections.set(socket, true);
      // 'finish' (the reply handed to the socket) comes before the client can
      // see the reply and ask again; 'close' covers a reply cut off.
      const idle = (): void => {
        if (this.connections.has(socket)) this.connections.set(socket, false);
      };
      res.on('finish', idle);
      res.on('close', idle);
    }
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path !== '/metrics') return plain(res, 404, 'not found: only GET /metrics is served\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return plain(res, 405, 'method not allowed: only GET /metrics is served\n');
    }
    if (!this.serving) return plain(res, 503, 'not serving yet\n');
    const failed = (err: unknown): void => {
      this.log.warning(`METRICS: unable to render metrics: ${(err as Error).message}`);
      plain(res, 500, 'internal error\n');
    };
    const send = (body: string): void => {
      res.writeHead(200, {
        'Content-Type': CONTENT_TYPE,
        'Content-Length': Buffer.byteLength(body),
        'Cache-Control': 'no-store',
      });
      res.end(body);
    };
    let body: string | Promise<string>;
    try {
      body = this.render();
    } catch (err) {
      return failed(err);
    }
    if (typeof body === 'string') send(body);
    else body.then(send, failed);
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.serving = false;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
