/**
 * The ids seen most recently, at most `max` of them: a set, and the ids in arrival order in a ring, so
 * the oldest is forgotten in constant time. (Reading a Set's first entry instead walks every entry
 * deleted before it until the table is rebuilt: once past the bound that cost tens of µs per id.)
 */
export class RecentIds {
  private readonly ids = new Set<string>();
  private readonly ring: string[] = [];
  private oldest = 0;

  constructor(private readonly max: number) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  get size(): number {
    return this.ids.size;
  }

  /** Remembers an id; past `max` ids the oldest is forgotten. An id remembered already is left as it is. */
  add(id: string): void {
    const before = this.ids.size;
    this.ids.add(id);
    if (this.ids.size === before) return;
    if (this.ring.length < this.max) {
      this.ring.push(id);
      return;
    }
    this.ids.delete(this.ring[this.oldest] as string);
    this.ring[this.oldest] = id;
    this.oldest = (this.oldest + 1) % this.max;
  }
}
