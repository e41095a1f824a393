// The client ACL as the server uses it: ip/ rules kept in memory and
// refreshed when the directory changes.
//
// dnscache stat()s ip/ on every packet, so a file created there is honoured
// for the next query. Here `admit()` does no filesystem call at all: it
// answers from a per-address memo over an immutable rules snapshot. Changes
// are picked up by fs.watch on the directory plus a cheap fallback poll
// (fs.watch misses events on some filesystems, never sees a symlink's target
// appear or vanish, and stays on the old inode if ip/ is replaced), and by
// reload() (SIGHUP). A refresh builds new rules and swaps them in one
// assignment; if ip/ cannot be read the previous rules stay in force.
// After a chroot into ROOT, relocate() points the re-reads at the new path
// (the watcher, on the directory itself, carries on); suspend() admits
// nobody while the process still has privileges to drop.

import * as fs from 'node:fs';
import { directoryIdentity, listExistingEntries, readAclRules } from './directory';
import { Clock, realClock, Timer } from '../platform/clock';
import { RuleBook } from '../rules/book';
import { Admission, AclRules, admission, serverFlag } from './rules';

export interface AclReloadEvent {
  /** false: the directory could not be read and the previous rules are kept. */
  ok: boolean;
  message: string;
}

export type AclReloadListener = (event: AclReloadEvent) => void;

export interface ClientAclOptions {
  /** Prefix rules added through the control socket (`dnscache-ctl block|limit PREFIX`), over the files' actions. */
  overrides?: RuleBook;
  /** Fallback poll period in ms (default 1000); 0 disables polling. */
  pollIntervalMs?: number;
  /** Use fs.watch (default true). */
  watch?: boolean;
  /** What the poll and temporary rules' expiry run on (default the real clock). */
  clock?: Clock;
}

/** Decisions remembered before the memo is dropped and rebuilt. */
export const MEMO_LIMIT = 65536;
const DEFAULT_POLL_MS = 1000;

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const item of a) if (!b.has(item)) return false;
  return true;
}

function sameActions(a: AclRules['actions'], b: AclRules['actions']): boolean {
  if (a.size !== b.size) return false;
  for (const [prefix, action] of a) if (JSON.stringify(b.get(prefix)) !== JSON.stringify(action)) return false;
  return true;
}

function sameRules(a: AclRules, b: AclRules): boolean {
  return (
    sameSet(a.accept, b.accept) &&
    sameSet(a.reject, b.reject) &&
    sameSet(a.omit, b.omit) &&
    sameSet(a.plain, b.plain) &&
    sameActions(a.actions, b.actions)
  );
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Why ip/ could not be taken: the directory unreadable (an errno), or a file's bad action (its own message, naming it). */
function readProblem(dir: string, err: unknown): string {
  return (err as NodeJS.ErrnoException).code !== undefined
    ? `unable to read ACL directory ${dir}: ${errorText(err)}`
    : errorText(err);
}

export class ClientAcl {
  private current: AclRules;
  private readonly memo = new Map<string, Admission>();
  private watcher: fs.FSWatcher | null = null;
  /** Identity of the directory the watcher is on ('' = none / re-arm on next refresh). */
  private watchedIdentity = '';
  private pollTimer: Timer | null = null;
  private pending: NodeJS.Immediate | null = null;
  private failing = false;
  /** The overrides' prefixVersion the memo was made with. */
  private overridesSeen = 0;
  private closed = false;
  private suspended = false;

  private constructor(
    private dir: string,
    rules: AclRules,
    private readonly onReload: AclReloadListener | undefined,
    private readonly useWatch: boolean,
    pollIntervalMs: number,
    private readonly overrides: RuleBook | null,
    private readonly clock: Clock,
  ) {
    this.current = rules;
    if (useWatch) this.armWatcher();
    if (pollIntervalMs > 0) this.pollTimer = clock.every(pollIntervalMs, () => this.refresh(false)).unref();
  }

  /**
   * Reads `dir` (the ip/ directory) and starts watching it.
   * Throws an Error naming the directory if it cannot be read.
   */
  static load(dir: string, onReload?: AclReloadListener, options: ClientAclOptions = {}): ClientAcl {
    let rules: AclRules;
    try {
      rules = readAclRules(dir);
    } catch (err) {
      throw new Error(readProblem(dir, err), { cause: err });
    }
    return new ClientAcl(
      dir,
      rules,
      onReload,
      options.watch ?? true,
      options.pollIntervalMs ?? DEFAULT_POLL_MS,
      options.overrides ?? null,
      options.clock ?? realClock,
    );
  }

  /** The path ip/ is read from. */
  get directory(): string {
    return this.dir;
  }

  /** Whether a client at `address` (as Node reports it) may use the cache. No I/O. */
  allows(address: string): boolean {
    return this.admit(address) !== false;
  }

  /**
   * Whether, and how, a client at `address` may use the cache: false, true,
   * or under the action of the ip/ file that admits it - remembered per
   * address, so a qps limit keeps its count from packet to packet. No I/O.
   */
  admit(address: string): Admission {
    if (this.suspended) return false;
    const o = this.overrides;
    if (o !== null) {
      if (o.prefixExpiryDue) o.expirePrefixes();
      if (o.prefixVersion !== this.overridesSeen) {
        // A prefix rule came or went: every remembered decision may be wrong now.
        this.memo.clear();
        this.overridesSeen = o.prefixVersion;
      }
    }
    const known = this.memo.get(address);
    if (known !== undefined) return known;
    const decision = admission(
      this.current,
      address,
      this.clock.now(),
      o === null ? undefined : (c) => o.prefixAction(c),
    );
    if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
    this.memo.set(address, decision);
    return decision;
  }

  /** FLAGEDSERVER: what ip/ says of a name server's address ('omit', 'plain' or null). No I/O. */
  serverFlag(address: string): 'omit' | 'plain' | null {
    return serverFlag(this.current, address);
  }

  /** The rules in force (an immutable snapshot). */
  get rules(): AclRules {
    return this.current;
  }

  /** Number of memoised decisions (for tests and stats). */
  get memoSize(): number {
    return this.memo.size;
  }

  /** Re-reads the directory now (SIGHUP). Always reports through onReload. */
  reload(): void {
    if (this.closed) return;
    this.refresh(true);
  }

  /** Admit nobody until resume(); the rules are still kept up to date meanwhile. */
  suspend(): void {
    this.suspended = true;
  }

  resume(): void {
    this.suspended = false;
  }

  /**
   * ip/ is now reached at `directory` (the process has chrooted into ROOT):
   * re-reads use it from now on. Throws an Error naming it, and keeps the
   * old path, if it cannot be read there (e.g. not readable by the user the
   * process now runs as).
   */
  relocate(directory: string): void {
    try {
      listExistingEntries(directory);
    } catch (err) {
      throw new Error(`unable to read ACL directory ${directory}: ${errorText(err)}`, { cause: err });
    }
    this.dir = directory;
    // Picks up a change made meanwhile; re-arms the watcher if the path
    // leads to another directory than the one watched.
    this.refresh(false);
  }

  /** Stops watching and polling. allows() keeps answering from the last rules. */
  close(): void {
    this.closed = true;
    this.pollTimer?.cancel();
    this.pollTimer = null;
    if (this.pending !== null) clearImmediate(this.pending);
    this.pending = null;
    this.closeWatcher();
  }

  /**
   * Re-reads the listing and swaps the rules if they changed. `forced`
   * (reload()) always clears the memo and reports; background refreshes
   * report only changes and transitions between readable and unreadable.
   */
  private refresh(forced: boolean): void {
    if (this.closed) return;
    let next: AclRules;
    try {
      next = readAclRules(this.directory);
    } catch (err) {
      // The watcher (if any) is on a directory that is gone or unusable;
      // re-arm once the directory is back.
      this.closeWatcher();
      const first = !this.failing;
      this.failing = true;
      if (forced || first) {
        this.report(false, `${readProblem(this.directory, err)}; keeping previous rules`);
      }
      return;
    }
    const recovered = this.failing;
    this.failing = false;
    const changed = !sameRules(this.current, next);
    if (changed) this.current = next;
    if (changed || forced) this.memo.clear();
    if (this.useWatch) this.checkWatcher();
    if (changed || forced || recovered) {
      this.report(
        true,
        `ACL ${this.directory}: ${next.accept.size} accept, ${next.reject.size} reject entries` +
          (next.actions.size > 0 ? `, ${next.actions.size} with actions` : '') +
          (changed ? '' : ' (unchanged)'),
      );
    }
  }

  private report(ok: boolean, message: string): void {
    this.onReload?.({ ok, message });
  }

  /** Coalesces a burst of watch events into one refresh. */
  private schedule(): void {
    if (this.closed || this.pending !== null) return;
    this.pending = setImmediate(() => {
      this.pending = null;
      this.refresh(false);
    });
  }

  /** Re-arms the watcher if it died or ip/ was replaced by another directory. */
  private checkWatcher(): void {
    let identity: string;
    try {
      identity = directoryIdentity(this.directory);
    } catch {
      return;
    }
    if (identity !== this.watchedIdentity) this.armWatcher();
  }

  private armWatcher(): void {
    this.closeWatcher();
    try {
      this.watchedIdentity = directoryIdentity(this.directory);
    } catch {
      return;
    }
    try {
      const watcher = fs.watch(this.directory, { persistent: false }, () => this.schedule());
      watcher.on('error', () => {
        // Drop the watcher but keep watchedIdentity: it is re-armed only
        // if ip/ is replaced or becomes unreadable and comes back, so a
        // watcher that keeps failing cannot spin. The poll covers the gap.
        if (this.watcher === watcher) this.watcher = null;
        try {
          watcher.close();
        } catch {
          // already closed
        }
        this.schedule();
      });
      this.watcher = watcher;
    } catch {
      // fs.watch unavailable here (e.g. inotify limits): the poll covers it.
      // watchedIdentity stays set, so we do not retry until ip/ is replaced.
    }
  }

  private closeWatcher(): void {
    const watcher = this.watcher;
    this.watcher = null;
    this.watchedIdentity = '';
    if (watcher !== null) {
      try {
        watcher.close();
      } catch {
        // already closed
      }
    }
  }
}
