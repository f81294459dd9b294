// A controller answered in-process, for a controller that needs no daemon
// (Linux md: the kernel keeps the arrays). Every request takes the socket's
// path minus the socket: encoded and validated as a request, run by the same
// RequestHandler (so bio_status is mapped in one place), and the reply
// encoded and decoded as bioctl would receive it from softraidd.
import type { Controller } from '../controller.js';
import { decodeRequest, decodeResponse, type RequestBody, type Response } from '../control/messages.js';
import { frameHeaderBytes } from '../control/protocol.js';
import { encodeRequest, encodeResponse } from '../control/serializer.js';
import { RequestHandler, type HandlerHooks } from './handler.js';

const quietHooks: HandlerHooks = {
  afterChange: () => undefined,
  // No NBD server in-process: nothing is exported, so nothing is in use by a client.
  clientsOf: () => 0,
  log: () => undefined,
};

export class InProcessClient {
  private readonly handler: RequestHandler;
  private nextId = 1;

  constructor(controller: Controller, hooks: Partial<HandlerHooks> = {}) {
    this.handler = new RequestHandler(controller, { ...quietHooks, ...hooks });
  }

  async request(body: RequestBody): Promise<Response> {
    const id = this.nextId++;
    const frame = encodeRequest(id, body);
    const request = decodeRequest(frame.subarray(frameHeaderBytes));
    frame.fill(0);
    const reply = await this.handler.handle(request);
    return decodeResponse(encodeResponse(id, reply.bioStatus, reply.result).subarray(frameHeaderBytes));
  }

  close(): void {
    // Nothing to close: no connection.
  }
}
