// WORKERS > 1: several processes answer on the same sockets, each with its
// own cache holding CACHESIZE / WORKERS bytes, so together they stay within
// CACHESIZE. node:cluster shares the TCP socket: the primary binds it (as
// root, if port 53 needs it) and deals out connections. For UDP, each
// worker binds its own socket with SO_REUSEPORT when the batch addon is
// built (udp-batch.ts; workers start as root too and drop privileges after
// binding), else the primary binds one dgram socket they all read. Upstream
// sockets are each worker's own.
//
// The primary forks the workers, gives each a seed drawn from its own
// generator (stdin, dnscache's seed, is read once, by the primary), waits
// until every worker serves, then drops its own privileges too. It forwards
// SIGTERM, SIGINT and SIGHUP. If a worker dies, the primary stops the others
// and exits 111: after the chroot node itself is out of reach, so a worker
// cannot be forked again, and the supervisor (svscan) restarts the service.

import cluster, { Worker } from 'node:cluster';

/** The environment variable that tells a worker its index (set by the primary, not by users). */
export const WORKER_INDEX_ENV = 'DNSCACHE_WORKER';

interface SeedMessage {
  readonly seed: string;
}

interface ReadyMessage {
  readonly ready: true;
}

/**
 * Something the primary asks every worker, each answering for itself. What
 * the questions are (metrics, control commands) is the business of whoever
 * serves them, cli/dnscache.ts: this file only carries them.
 */
export interface WorkerQuestion {
  readonly kind: string;
}

/** What each kind of question `Q` is answered with. */
export type AnswersTo<Q extends WorkerQuestion> = { readonly [K in Q['kind']]: unknown };

interface QuestionMessage {
  readonly question: number;
  readonly asked: WorkerQuestion;
}

/** A worker's answer, or the error its answering threw. */
interface AnswerMessage {
  readonly answer: number;
  readonly value?: unknown;
  readonly error?: string;
}

export function isWorkerProcess(): boolean {
  return cluster.isWorker;
}

/** This worker's index, from the environment the primary gave it. */
export function workerIndex(env: NodeJS.ProcessEnv, count: number): number {
  const text = env[WORKER_INDEX_ENV] ?? '';
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n >= count)
    throw new Error(`${WORKER_INDEX_ENV}: ${JSON.stringify(text)} is not a worker index below ${count}`);
  return n;
}

/** In a worker: the seed the primary sends before anything else. */
export function receiveSeed(): Promise<Buffer> {
  return new Promise((resolve) => {
    process.once('message', (m: SeedMessage) => resolve(Buffer.from(m.seed, 'base64')));
  });
}

/**
 * In a worker: answer the primary's questions (the answer may be a
 * promise). A throw or rejection goes back as the question's error, so the
 * primary fails at once instead of waiting out its timeout.
 */
export function answerQuestions<Q extends WorkerQuestion>(answer: (q: Q) => unknown): void {
  const send = (reply: AnswerMessage): void => {
    try {
      process.send?.(reply);
    } catch {
      // The channel closed: the primary is gone, and nobody waits for this.
    }
  };
  process.on('message', (m: Partial<QuestionMessage>) => {
    if (typeof m?.question !== 'number' || m.asked === undefined) return;
    const id = m.question;
    void Promise.resolve()
      .then(() => answer(m.asked as Q))
      .then(
        (value) => send({ answer: id, value }),
        (err: unknown) => send({ answer: id, error: err instanceof Error ? err.message : String(err) }),
      );
  });
}

/** In a worker: tell the primary this worker serves. */
export function reportReady(): void {
  const ready: ReadyMessage = { ready: true };
  process.send?.(ready);
}

export interface PrimaryOptions {
  readonly count: number;
  /** A fresh seed for each worker. */
  readonly seed: () => Buffer;
  /** Every worker serves: the primary may drop its privileges now. */
  readonly allReady: () => void;
  readonly warning: (message: string) => void;
  /** How long workers may take to start before the service gives up. */
  readonly startTimeoutMs?: number;
  /** Called once every worker is gone, right before the primary exits (close what it serves). */
  readonly beforeExit?: () => void;
}

/** dnscache's exit status for a fatal error (the CLI's too). */
export const EXIT_FATAL = 111;

export interface Primary<Q extends WorkerQuestion, A extends AnswersTo<Q>> {
  /**
   * Every worker's answer to `q`, in worker order. Rejects with a worker's
   * error, if one does not answer within `timeoutMs`, or while the workers
   * are still starting (they only listen once they serve).
   */
  ask<K extends Q>(q: K, timeoutMs: number): Promise<A[K['kind']][]>;
}

/** Runs the primary: forks the workers and watches them until the service stops. */
export function runPrimary<Q extends WorkerQuestion, A extends AnswersTo<Q>>(o: PrimaryOptions): Primary<Q, A> {
  // Metrics snapshots hold typed arrays: structured clone, not JSON, carries them.
  cluster.setupPrimary({ serialization: 'advanced' });
  const workers: Worker[] = [];
  let questions = 0;
  const pending = new Map<number, (index: number, m: AnswerMessage) => void>();
  let ready = 0;
  let stopping = false;
  let status = 0;
  const stop = (exitStatus: number): void => {
    if (exitStatus !== 0) status = exitStatus;
    if (stopping) return;
    stopping = true;
    clearTimeout(startTimer);
    for (const w of workers) if (!w.isDead()) w.process.kill('SIGTERM');
  };
  const startTimer = setTimeout(() => {
    o.warning(`only ${ready} of ${o.count} workers started within ${(o.startTimeoutMs ?? 30000) / 1000} s`);
    stop(EXIT_FATAL);
  }, o.startTimeoutMs ?? 30000);
  for (let i = 0; i < o.count; i++) {
    const w = cluster.fork({ [WORKER_INDEX_ENV]: String(i) });
    const seed: SeedMessage = { seed: o.seed().toString('base64') };
    w.send(seed);
    w.on('message', (m: Partial<ReadyMessage & AnswerMessage>) => {
      if (typeof m?.answer === 'number') pending.get(m.answer)?.(i, m as AnswerMessage);
      if (m?.ready !== true || ++ready < o.count) return;
      clearTimeout(startTimer);
      o.allReady();
    });
    w.on('exit', (code, signal) => {
      // A worker stopping by itself with status 0 was told to stop (Ctrl-C
      // reaches every process of the group): the service stops. Anything
      // else is a failure of the whole service.
      if (!stopping && (code !== 0 || signal !== null))
        o.warning(`worker ${i} exited (${signal ?? `status ${code}`}): stopping`);
      stop(code === 0 && signal === null ? 0 : EXIT_FATAL);
      if (!workers.every((x) => x.isDead())) return;
      o.beforeExit?.();
      process.exit(status);
    });
    workers.push(w);
  }
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  process.on('SIGHUP', () => {
    for (const w of workers) if (!w.isDead()) w.process.kill('SIGHUP');
  });
  return {
    ask: <K extends Q>(asked: K, timeoutMs: number) =>
      new Promise<A[K['kind']][]>((resolve, reject) => {
        if (ready < o.count) return reject(new Error(`the workers are still starting (${ready} of ${o.count} serve)`));
        const id = ++questions;
        const answered = new Array<boolean>(o.count).fill(false);
        const answers = new Array<A[K['kind']]>(o.count);
        let missing = o.count;
        const end = (): void => {
          clearTimeout(timer);
          pending.delete(id);
        };
        const timer = setTimeout(() => {
          end();
          reject(new Error(`${missing} of ${o.count} workers did not answer within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, (index, m) => {
          if (answered[index]) return;
          answered[index] = true;
          if (m.error !== undefined) {
            end();
            return reject(new Error(m.error));
          }
          answers[index] = m.value as A[K['kind']];
          if (--missing > 0) return;
          end();
          resolve(answers);
        });
        const question: QuestionMessage = { question: id, asked };
        for (const w of workers) if (!w.isDead()) w.send(question);
      }),
  };
}
