// Pod addresses of one node: a loopback range (all of 127.0.0.0/8 routes to `lo` on Linux), so
// every pod gets an address of its own and can listen on its usual ports.
export class AddressPool {
  private readonly first: number;
  private readonly size: number;
  private readonly byPod = new Map<string, number>();
  private readonly used = new Set<number>();
  private next = 0;

  constructor(range: string) {
    const [network, prefixText] = range.split('/');
    const octets = (network ?? '').split('.').map(Number);
    const prefix = Number(prefixText);
    if (octets.length !== 4 || octets[0] !== 127 || !(prefix >= 8 && prefix <= 30)) throw new Error(`pod range "${range}" must be a loopback CIDR like 127.101.0.0/16`);
    this.first = (((octets[0] ?? 0) << 24) | ((octets[1] ?? 0) << 16) | ((octets[2] ?? 0) << 8) | (octets[3] ?? 0)) >>> 0;
    this.size = 2 ** (32 - prefix);
  }

  private format(value: number): string {
    return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
  }

  reserve(pod: string, address: string): void {
    const value = address.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
    this.byPod.set(pod, value);
    this.used.add(value);
  }

  allocate(pod: string): string {
    const existing = this.byPod.get(pod);
    if (existing !== undefined) return this.format(existing);
    for (let i = 0; i < this.size; i++) {
      const offset = (this.next + i) % this.size;
      const value = this.first + offset;
      // Skip addresses ending in .0 or .255: valid on lo, but confusing to read.
      if ((value & 255) === 0 || (value & 255) === 255 || this.used.has(value)) continue;
      this.next = offset + 1;
      this.used.add(value);
      this.byPod.set(pod, value);
      return this.format(value);
    }
    throw new Error(`no free pod address left in ${this.format(this.first)}/${32 - Math.log2(this.size)}`);
  }

  release(pod: string): void {
    const value = this.byPod.get(pod);
    if (value === undefined) return;
    this.byPod.delete(pod);
    this.used.delete(value);
  }
}
