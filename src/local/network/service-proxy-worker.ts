// The Service proxy's thread: runs the relay on an event loop of its own and applies the desired
// listeners the runtime sends it. See service-proxy-thread.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { createRelay, type DesiredListener } from './service-proxy.ts';

export type ToRelayThread = { id: number; desired: [string, DesiredListener][] };
export type FromRelayThread = { id: number; listening: string[] } | { error: string };

const port = parentPort;
if (!port) throw new Error('service-proxy-worker.ts runs as a worker thread');
const relay = createRelay({
  connectTimeoutMs: (workerData as { connectTimeoutMs?: number } | undefined)?.connectTimeoutMs,
  onError: (error) => port.postMessage({ error: error.message } satisfies FromRelayThread),
});
let queue: Promise<void> = Promise.resolve();
port.on('message', (message: ToRelayThread) => {
  queue = queue
    .then(() => relay.apply(new Map(message.desired)))
    .catch((error: unknown) => port.postMessage({ error: `service proxy: ${(error as Error).message}` } satisfies FromRelayThread))
    .then(() => port.postMessage({ id: message.id, listening: relay.listening() } satisfies FromRelayThread));
});
