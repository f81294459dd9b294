// Numbers for pieces of shared memory that worker threads are sent once:
// the copy threads (copy-threads.ts) and the cipher threads
// (crypto/parallel-cipher.ts) are told each SharedArrayBuffer when it is
// first used and told to forget it once the collector has taken it here;
// jobs then name memory by number, which costs nothing to send (a
// SharedArrayBuffer in a message costs the receiver a new object each time).

export class SharedMemoryIds {
  private readonly ids = new WeakMap<SharedArrayBuffer, number>();
  private readonly forgotten: FinalizationRegistry<number>;
  private nextId = 1;

  /** `register` tells the threads a new number; `forget`, that one's memory is gone. */
  constructor(private readonly register: (id: number, memory: SharedArrayBuffer) => void, forget: (id: number) => void) {
    this.forgotten = new FinalizationRegistry(forget);
  }

  /** The number of `memory`, registering it on first use. */
  idOf(memory: SharedArrayBuffer): number {
    let id = this.ids.get(memory);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(memory, id);
      this.forgotten.register(memory, id);
      this.register(id, memory);
    }
    return id;
  }
}
