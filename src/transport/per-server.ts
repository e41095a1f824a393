// A table of something per upstream server, keyed by address and port
// (serverId), so that it outlives a reload, which makes new Endpoint
// objects, with the Endpoint objects in front as a cache: the tries of a
// question ask about the same frozen object again and again, and a WeakMap
// lookup makes no id string.

import { serverId, ServerKey } from './rtt';

export class PerServer<V> {
  private readonly byId = new Map<string, V>();
  private byObject = new WeakMap<ServerKey, V>();

  get(s: ServerKey): V | undefined {
    const cached = this.byObject.get(s);
    if (cached !== undefined) return cached;
    const v = this.byId.get(serverId(s));
    if (v !== undefined) this.byObject.set(s, v);
    return v;
  }

  set(s: ServerKey, v: V): void {
    this.byId.set(serverId(s), v);
    this.byObject.set(s, v);
  }

  /** Forgets every server whose id is not in `keep`. */
  retain(keep: ReadonlySet<string>): void {
    for (const id of this.byId.keys()) if (!keep.has(id)) this.byId.delete(id);
    this.byObject = new WeakMap(); // it may hold what was just forgotten
  }

  clear(): void {
    this.byId.clear();
    this.byObject = new WeakMap();
  }

  get size(): number {
    return this.byId.size;
  }
}
