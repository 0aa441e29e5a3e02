/**
 * The service order of a partition tail's subscribers: an array walked by index, so a lap over ten
 * thousand subscribers allocates nothing. Joiners go to the end; a subscriber that leaves leaves a
 * hole (so an index held by a lap in progress stays valid) until `compact` closes the holes.
 *
 * Invariant: `slots` maps each member to its index in `order`; `holes` counts the undefined slots.
 */
export class SubscriberRing<T> {
  private order: (T | undefined)[] = [];
  private readonly slots = new Map<T, number>();
  private holes = 0;

  get size(): number {
    return this.slots.size;
  }

  /** Slots, holes included: the bound of a lap's index. */
  get length(): number {
    return this.order.length;
  }

  at(index: number): T | undefined {
    return this.order[index];
  }

  add(member: T): void {
    if (this.slots.has(member)) return;
    this.slots.set(member, this.order.length);
    this.order.push(member);
  }

  /** False if it was not a member. */
  delete(member: T): boolean {
    const index = this.slots.get(member);
    if (index === undefined) return false;
    this.slots.delete(member);
    this.order[index] = undefined;
    this.holes++;
    return true;
  }

  /** Closes the holes; indexes change, so never during a lap. */
  compact(): void {
    if (this.holes === 0) return;
    const order: T[] = [];
    for (const member of this.order) {
      if (member === undefined) continue;
      this.slots.set(member, order.length);
      order.push(member);
    }
    this.order = order;
    this.holes = 0;
  }

  /** True when holes are over half the slots: worth a compact outside a lap. */
  get sparse(): boolean {
    return this.holes > 64 && this.holes * 2 > this.order.length;
  }

  members(): T[] {
    return [...this.slots.keys()];
  }

  clear(): void {
    this.order = [];
    this.slots.clear();
    this.holes = 0;
  }
}
