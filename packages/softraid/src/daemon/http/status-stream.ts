// /status/stream: the status document as server-sent events, so the page
// follows changes without a reload. One document is built per tick for all
// clients, and only while there are clients: every second (progress and
// I/O move), and at once (a few milliseconds later, coalesced) when the
// controller reports an event or a volume changes. Streams are bounded in
// number; EventSource reconnects by itself after a restart.
import type { ServerResponse } from 'node:http';

export const streamClientsMaxDefault = 32;
export const streamIntervalMsDefault = 1000;
const pokeDelayMs = 25;
const clientBufferedBytesMax = 1024 * 1024;

export class StatusStream {
  private readonly clients = new Set<ServerResponse>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private pokeTimer: ReturnType<typeof setTimeout> | undefined;
  private building = false;
  private rebuildAfter = false;

  constructor(private readonly build: () => Promise<string>, private readonly log: (line: string) => void,
    private readonly intervalMs = streamIntervalMsDefault, private readonly clientsMax = streamClientsMaxDefault) {}

  get clientCount(): number {
    return this.clients.size;
  }

  /** Takes over the response; false (nothing written) when there are already as many streams as allowed. */
  attach(response: ServerResponse, headers: Record<string, string>): boolean {
    if (this.clients.size >= this.clientsMax) return false;
    response.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    response.write('retry: 2000\n\n');
    this.clients.add(response);
    response.once('close', () => {
      this.clients.delete(response);
      if (this.clients.size === 0) this.stopTimer();
    });
    this.timer ??= setInterval(() => void this.publish(), this.intervalMs);
    void this.publish();
    return true;
  }

  /** Something changed: publish soon, not at the next tick. */
  poke(): void {
    if (this.clients.size === 0 || this.pokeTimer !== undefined) return;
    this.pokeTimer = setTimeout(() => {
      this.pokeTimer = undefined;
      void this.publish();
    }, pokeDelayMs);
  }

  close(): void {
    this.stopTimer();
    clearTimeout(this.pokeTimer);
    this.pokeTimer = undefined;
    for (const client of this.clients) client.end();
    this.clients.clear();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async publish(): Promise<void> {
    if (this.building) {
      this.rebuildAfter = true;
      return;
    }
    this.building = true;
    try {
      const document = await this.build();
      // JSON.stringify without indentation has no newlines: one data line per event.
      const message = `event: status\ndata: ${document}\n\n`;
      for (const client of this.clients) {
        // A client that stopped reading is let go rather than buffered for without end.
        if (client.writableLength > clientBufferedBytesMax) client.destroy();
        else client.write(message);
      }
    } catch (error) {
      this.log(`status page: ${(error as Error).message}`);
    } finally {
      this.building = false;
    }
    if (this.rebuildAfter) {
      this.rebuildAfter = false;
      void this.publish();
    }
  }
}
