// The status page's entry: follows softraidd's /status/stream (server-sent
// events; the browser reconnects by itself after a restart) and redraws on
// every document. Where EventSource is missing, it polls /status.json.
// The header says whether the page is live, and since when it is not.
import { render } from './render.js';
import { clock } from './format.js';
import type { StatusDocument } from './status-types.js';

const pollIntervalMs = 2000;

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found;
}

const root = element('status');
const connection = element('connection');
const host = element('host');
let lastDocumentAt: string | null = null;

function show(status: StatusDocument): void {
  if (status.status_version !== 1) {
    setConnection('stale', `softraidd sends status version ${String(status.status_version)}; reload the page`);
    return;
  }
  lastDocumentAt = status.generated_at;
  host.textContent = status.host;
  document.title = `${status.host}: softraid status`;
  render(root, status);
  setConnection('live', `live · ${clock(status.generated_at)}`);
}

function setConnection(state: 'live' | 'stale' | 'connecting', text: string): void {
  connection.dataset.connection = state;
  connection.textContent = text;
}

function lost(): void {
  setConnection('stale', lastDocumentAt === null ? 'connecting to softraidd…' : `not live since ${clock(lastDocumentAt)}: reconnecting…`);
}

function follow(): void {
  const source = new EventSource('status/stream');
  source.addEventListener('status', (event) => show(JSON.parse((event as MessageEvent<string>).data) as StatusDocument));
  source.addEventListener('error', lost);
}

async function poll(): Promise<void> {
  try {
    const response = await fetch('status.json', { cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    show(await response.json() as StatusDocument);
  } catch {
    lost();
  }
  setTimeout(() => void poll(), pollIntervalMs);
}

setConnection('connecting', 'connecting to softraidd…');
if (typeof EventSource === 'function') follow();
else void poll();
