// The controller -> control reply boundary: one request in, one bio_status
// (and result) out. A controller's replies become bio_status here; operating
// errors become messages in one place, replyOf (controller.ts), which every
// controller uses too. Any other exception — an assertion above all — is a
// bug and is not caught.
import { replyOf, type Controller, type ControllerReply, type BioMessage, type CryptoUnlock, type InquiryView } from '../controller.js';
import type { BioStatus, Request, AlarmResult, LocateResult, PingResult } from '../control/messages.js';
import { bioMessageCountMax, bioMessageTextBytesMax } from '../control/protocol.js';
import { blinkChunk } from './blink.js';

export interface Reply {
  bioStatus: BioStatus;
  result?: unknown;
}

export interface HandlerHooks {
  /** After a request that may have changed volumes or spares (to update the state file). */
  afterChange(): void;
  /** NBD clients in transmission on a volume's export. */
  clientsOf(device: string): number;
  /** The daemon's log: what an operator did to a volume is recorded there. */
  log(line: string): void;
}

function clampText(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= bioMessageTextBytesMax ? text : bytes.subarray(0, bioMessageTextBytesMax).toString('utf8');
}

export class RequestHandler {
  constructor(private readonly controller: Controller, private readonly hooks: HandlerHooks) {}

  private status(ok: boolean | 'unknown', messages: readonly BioMessage[]): BioStatus {
    return {
      controller: this.controller.controllerName,
      status: ok === 'unknown' ? 'unknown' : ok ? 'success' : 'error',
      messages: messages.slice(0, bioMessageCountMax).map((message) => ({ type: message.type, text: clampText(message.text) })),
    };
  }

  private fromReply(reply: ControllerReply<unknown>): Reply {
    const out: Reply = { bioStatus: this.status(reply.ok, reply.messages) };
    if (reply.ok && reply.result !== undefined) out.result = reply.result;
    return out;
  }

  private error(text?: string): Reply {
    return { bioStatus: this.status(false, text === undefined ? [] : [{ type: 'error', text }]) };
  }

  /** inquire(), with percentages as the integers bioctl prints. */
  inquiry(): InquiryView {
    const view = this.controller.inquire();
    return {
      ...view,
      volumes: view.volumes.map((volume) => volume.progress === null ? volume : { ...volume, progress: { ...volume.progress, percent: Math.min(100, Math.max(0, Math.floor(volume.progress.percent))) } }),
    };
  }

  async handle(request: Request): Promise<Reply> {
    // A controller answers refusals with a failed reply; one that throws an operating error
    // instead gets the same mapping (replyOf). Anything else is a bug and is not caught.
    const reply = await replyOf(() => this.dispatch(request));
    return reply.ok ? reply.result! : { bioStatus: this.status(false, reply.messages) };
  }

  private async dispatch(request: Request): Promise<Reply> {
    const controller = this.controller;
    switch (request.op) {
      case 'ping': {
        const result: PingResult = { daemon: 'softraidd', pid: process.pid };
        return { bioStatus: this.status(true, []), result };
      }
      case 'locate': {
        // BIOCLOCATE: the controller by name, or a volume (opendev() of sdN).
        let kind: LocateResult['kind'] | undefined;
        if (request.name === controller.controllerName) kind = 'controller';
        else if (controller.inquire().volumes.some((volume) => volume.deviceName === request.name)) kind = 'volume';
        if (kind === undefined) return this.error();
        const result: LocateResult = { kind };
        return { bioStatus: this.status(true, []), result };
      }
      case 'inquire':
        return { bioStatus: this.status(true, []), result: this.inquiry() };
      case 'create': {
        // The request's passphrase (decodeRequest's copy, outside the heap) is zeroed once the controller is done.
        const passphrase = request.crypto?.passphrase;
        try {
          const crypto: CryptoUnlock | undefined = request.crypto === undefined ? undefined : {
            ...(passphrase === undefined ? {} : { passphrase }),
            ...(request.crypto.keyDisk === undefined ? {} : { keyDisk: request.crypto.keyDisk }),
            ...(request.crypto.kdfRounds === undefined ? {} : { kdfRounds: request.crypto.kdfRounds }),
          };
          const reply = await controller.create({
            level: request.level, chunkNames: request.chunks, force: request.force, noAutoAssemble: request.noAutoAssemble,
            ...(request.stripSizeBytes === undefined ? {} : { stripSizeBytes: request.stripSizeBytes }),
            ...(request.layout === undefined ? {} : { layout: request.layout }),
            ...(crypto === undefined ? {} : { crypto }),
          });
          this.hooks.afterChange();
          return this.fromReply(reply);
        } finally {
          passphrase?.fill(0);
        }
      }
      case 'kdfhint': {
        if (controller.kdfHint === undefined) return this.error(`${controller.controllerName} has no encrypted volumes`);
        return this.fromReply(await controller.kdfHint(request.chunks));
      }
      case 'passphrase': {
        if (controller.changePassphrase === undefined) return this.error(`${controller.controllerName} has no encrypted volumes`);
        const { oldPassphrase, newPassphrase } = request;
        try {
          const reply = await controller.changePassphrase(request.device, {
            oldPassphrase, newPassphrase, ...(request.kdfRounds === undefined ? {} : { kdfRounds: request.kdfRounds }),
          });
          if (reply.ok) this.hooks.log(`${request.device}: passphrase changed by request`);
          return this.fromReply(reply);
        } finally {
          oldPassphrase.fill(0);
          newPassphrase.fill(0);
        }
      }
      case 'delete': {
        const known = controller.inquire().volumes.some((volume) => volume.deviceName === request.device);
        // bioctl -d SPARE: a path (or URI) that is no volume names a hot spare to take out of the pool.
        if (!known && !/^sd\d+$/.test(request.device)) {
          const reply = await controller.removeHotSpare(request.device);
          this.hooks.afterChange();
          return this.fromReply(reply);
        }
        // Detaching pulls the volume from under its clients: their next requests fail
        // and unflushed writes are lost to them. Only by request.
        const clients = this.hooks.clientsOf(request.device);
        if (known && clients > 0 && request.force !== true) {
          return this.error(`${request.device} is in use by ${clients} NBD client${clients === 1 ? '' : 's'}: disconnect ${clients === 1 ? 'it' : 'them'} first, or detach anyway with bioctl -C force -d ${request.device}`);
        }
        const reply = await controller.detach(request.device);
        if (reply.ok) {
          const forced = clients > 0 ? ` while ${clients} NBD client${clients === 1 ? ' was' : 's were'} connected (forced)` : '';
          this.hooks.log(`${request.device} detached by request${forced}`);
        }
        this.hooks.afterChange();
        return this.fromReply(reply);
      }
      case 'setstate': {
        // softraid needs a device (BIOC_SSOTHER_DEVT) and answers a channel:target locator with a bare
        // EINVAL. Here a locator names a member by the numbers bioctl prints (volume:chunk), which -O
        // can use; -H and -R add a disk that has no such number yet.
        let name: string;
        if (request.chunk.kind === 'locator') {
          const { channel, target, lun } = request.chunk;
          const where = `${channel}:${target}.${lun}`;
          if (request.operation !== 'offline') {
            return this.error(`${where} names a chunk already in a volume: bioctl -${request.operation === 'hotspare' ? 'H' : 'R'} needs the path (or NBD URI) of the disk to add`);
          }
          const volume = this.inquiry().volumes.find((candidate) => candidate.volumeIndex === channel);
          const chunk = lun === 0 ? volume?.chunks.find((candidate) => candidate.chunkIndex === target) : undefined;
          if (volume === undefined || chunk === undefined || chunk.name.length === 0) return this.error(`Disk ${where} does not exist`);
          if (volume.deviceName !== request.device) return this.error(`Disk ${where} is a chunk of ${volume.deviceName}, not of ${request.device ?? '?'}`);
          name = chunk.name;
        } else {
          name = request.chunk.name;
        }
        let reply: ControllerReply;
        if (request.operation === 'hotspare') {
          reply = await controller.addHotSpare(name, request.device);
        } else {
          if (request.device === null) return this.error('a volume is needed for this request');
          reply = request.operation === 'offline'
            ? await controller.setOffline(request.device, name, { force: request.force === true })
            : await controller.rebuild(request.device, name);
          if (reply.ok && request.operation === 'offline') this.hooks.log(`${request.device}: chunk ${name} set offline by request${request.force === true ? ' (forced)' : ''}`);
        }
        this.hooks.afterChange();
        return this.fromReply(reply);
      }
      case 'alarm': {
        // softraid accepts BIOCALARM and does nothing: there is no alarm, so it is never enabled.
        const result: AlarmResult = { enabled: false };
        return { bioStatus: this.status(true, []), result };
      }
      case 'blink': {
        const view = this.inquiry();
        const spare = view.hotSpares.find((candidate) => candidate.volumeIndex === request.channel && request.target === 0);
        const chunk = view.volumes.find((volume) => volume.volumeIndex === request.channel)?.chunks.find((candidate) => candidate.chunkIndex === request.target);
        const name = spare?.name ?? chunk?.name;
        const where = `${request.channel}:${request.target}.${request.lun}`;
        if (name === undefined || name.length === 0 || request.lun !== 0) return this.error(`Disk ${where} does not exist`);
        return { bioStatus: this.status(true, await blinkChunk(name, request.function === 'blink')) };
      }
      case 'patrol': {
        // OpenBSD's softraid answers BIOCPATROL with ENOTTY; here it drives the scrub
        // (docs/scrub.md). The schedule is controller-wide, like a hardware patrol.
        const device = request.device === undefined || request.device === controller.controllerName ? null : request.device;
        switch (request.function) {
          case 'start': return this.fromReply(await controller.startScrub(device, { repair: false }));
          case 'repair': return this.fromReply(await controller.startScrub(device, { repair: true }));
          case 'stop': return this.fromReply(await controller.stopScrub(device));
          case 'get': return this.fromReply(controller.patrolStatus(device));
          case 'auto':
          case 'manual':
          case 'disable': {
            const reply = controller.setScrubSchedule(request.function === 'auto'
              ? { mode: 'auto', intervalSeconds: request.intervalSeconds ?? null, startSeconds: request.startSeconds ?? null }
              : { mode: request.function === 'manual' ? 'manual' : 'disabled' });
            this.hooks.afterChange();
            return this.fromReply(reply);
          }
        }
      }
    }
  }
}
