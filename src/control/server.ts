// The control socket: a unix stream socket at CONTROL, made before the
// chroot and the privilege drop (like the DNS sockets), mode 0600, so only
// its owner - root, or whoever started dnscache - can connect (connecting
// to a unix socket needs write permission on it). One request line per
// connection, one response line (after the dump's lines for `dump -`, or
// after reading the dump sent for `load -`), then the server closes it. Whatever a
// client sends, it gets an error response or a closed connection, never a
// stopped service.

import * as fs from 'node:fs';
import * as net from 'node:net';
import { ControlRequest, ControlResponse, isStream, MAX_REQUEST_BYTES, parseRequest, RequestError } from './protocol';
import { CommandRunner, ControlStream } from './commands';

const IDLE_MS = 10000;
const PROBE_MS = 1000;

/** Whether something accepts connections on the unix socket at `p`. */
function answers(p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ path: p });
    const done = (live: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(live);
    };
    const timer = setTimeout(() => done(true), PROBE_MS);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * Removes a socket left behind by an earlier run. Refuses to remove
 * anything that is not a socket, or a socket someone still listens on.
 */
async function clearStale(p: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) throw new Error(`${p} exists and is not a socket (remove it or choose another CONTROL)`);
  if (await answers(p)) throw new Error(`another process is listening on ${p}`);
  fs.unlinkSync(p);
}

function errorResponse(message: string): ControlResponse {
  return { ok: false, error: message };
}

/** Control connections open at once; more are closed as they come. */
export const MAX_CONTROL_CONNECTIONS = 16;

export class ControlServer {
  private readonly connections = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    /** The socket's path as given (before any chroot). */
    readonly path: string,
    readonly commands: CommandRunner,
  ) {
    server.on('connection', (socket) => this.onConnection(socket));
    // Accept errors (e.g. EMFILE) must not stop the service.
    server.on('error', () => undefined);
  }

  /** Makes the socket at `path` (mode 0600) and starts accepting. */
  static async listen(path: string, commands: CommandRunner): Promise<ControlServer> {
    await clearStale(path);
    const server = net.createServer({ allowHalfOpen: true });
    // Only its owner can connect (mode 0600); still, a runaway script must not use up the files.
    server.maxConnections = MAX_CONTROL_CONNECTIONS;
    // The socket is created with the umask's mode: make it 0600 from the
    // start, so there is no moment in which others could connect.
    const umask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ path, backlog: 16 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(umask);
    }
    try {
      fs.chmodSync(path, 0o600);
    } catch (err) {
      server.close();
      throw err;
    }
    return new ControlServer(server, path, commands);
  }

  /** Stops accepting and closes open connections. */
  close(): Promise<void> {
    for (const s of this.connections) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(socket: net.Socket): void {
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => undefined);
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    const chunks: Buffer[] = [];
    let length = 0;
    let handled = false;
    const handle = (line: string | null, rest: Buffer): void => {
      if (handled) return;
      handled = true;
      socket.off('data', onData);
      socket.pause();
      // What came after the request line is the start of a streamed load.
      if (rest.length > 0) socket.unshift(rest);
      const reply =
        line === null
          ? Promise.resolve(errorResponse(`request longer than ${MAX_REQUEST_BYTES} bytes`))
          : this.respond(line, connectionStream(socket));
      void reply.then((response) => {
        if (!socket.destroyed) socket.end(JSON.stringify(response) + '\n');
      });
    };
    const onData = (data: Buffer): void => {
      const nl = data.indexOf(0x0a);
      if (nl >= 0) {
        chunks.push(data.subarray(0, nl));
        length += nl;
      } else {
        chunks.push(data);
        length += data.length;
      }
      if (length > MAX_REQUEST_BYTES) return handle(null, Buffer.alloc(0));
      if (nl >= 0) handle(Buffer.concat(chunks).toString('utf8'), data.subarray(nl + 1));
    };
    socket.on('data', onData);
    socket.on('end', () => {
      // A request without its newline: the end of the stream ends the line.
      if (!handled && length > 0) handle(Buffer.concat(chunks).toString('utf8'), Buffer.alloc(0));
      else if (!handled) socket.end();
    });
  }

  /** The response to one request line; never rejects. */
  async respond(line: string, stream?: ControlStream): Promise<ControlResponse> {
    try {
      const req: ControlRequest = parseRequest(line.trim());
      if (isStream(req) && stream === undefined) throw new RequestError(`${req.cmd}: a stream needs a connection`);
      const result = await this.commands.run(req, stream);
      return { ok: true, cmd: req.cmd, ...result };
    } catch (err) {
      if (err instanceof RequestError) return errorResponse(err.message);
      return errorResponse(err instanceof Error ? err.message : String(err));
    }
  }
}

/**
 * A connection's side of a streamed dump or load. Writes wait while the
 * client does not read (the connection's buffer stays under its high-water
 * mark), and a client that stops reading for IDLE_MS is cut off, which ends
 * the dump.
 */
function connectionStream(socket: net.Socket): ControlStream {
  return {
    // The response goes out on the same connection once the input ends: iterating must not destroy it.
    input: socket.iterator({ destroyOnReturn: false }),
    write: (piece) =>
      new Promise<void>((resolve, reject) => {
        if (socket.destroyed) return reject(new Error('the client closed the connection'));
        if (socket.write(piece)) return resolve();
        const done = (err: Error | null): void => {
          socket.off('drain', drained);
          socket.off('close', closed);
          if (err) reject(err);
          else resolve();
        };
        const drained = (): void => done(null);
        const closed = (): void => done(new Error('the client closed the connection'));
        socket.once('drain', drained);
        socket.once('close', closed);
      }),
  };
}
