// A Map for entries that come and go once per request (pending requests by
// id: the legacy client's controls, the daemon's forwarded controls, tunnel
// and transport requests). V8 shrinks a Map's table whenever a delete leaves it under a quarter
// full, so a Map that goes 0 -> 1 -> 0 entries per request reallocates its
// table on every reply (measured: set+delete ~100-130 ns, ~60 ns without the
// shrink). One permanent hidden entry keeps a small table from shrinking.

const KEEP = Symbol('keeps the table from shrinking');

export class RequestMap<K, V> {
  private readonly map = new Map<K | typeof KEEP, V | undefined>([[KEEP, undefined]]);

  get size(): number {
    return this.map.size - 1;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): this {
    this.map.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
    this.map.set(KEEP, undefined);
  }

  *entries(): IterableIterator<[K, V]> {
    for (const [key, value] of this.map) if (key !== KEEP) yield [key as K, value as V];
  }

  *keys(): IterableIterator<K> {
    for (const key of this.map.keys()) if (key !== KEEP) yield key as K;
  }

  *values(): IterableIterator<V> {
    for (const [key, value] of this.map) if (key !== KEEP) yield value as V;
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }
}
