// The Service proxy in a worker thread of its own. The supervisor's main event loop also runs
// the pod workers, probes, DNS and the embedded operators; on a busy box a pass of theirs held
// it for seconds, and every connection through a Service waited that long. kube-proxy's data
// path is the kernel, which no controller can hold up; here the relay gets its own event loop,
// and the main thread only computes where connections go.
import { Worker } from 'node:worker_threads';
import { desiredListeners, type DesiredListener, type ServiceProxy, type ServiceProxyOptions } from './service-proxy.ts';
import type { FromRelayThread, ToRelayThread } from './service-proxy-worker.ts';

const workerFile = new URL('./service-proxy-worker.ts', import.meta.url);

export function startServiceProxyThread(options: ServiceProxyOptions = {}): ServiceProxy {
  const onError = options.onError ?? (() => {});
  let listening: string[] = [];
  let last: [string, DesiredListener][] = [];
  let nextId = 0;
  let closed = false;
  // Resolvers of updates not yet applied, by message id.
  const pending = new Map<number, () => void>();

  const post = (target: Worker, desired: [string, DesiredListener][]): Promise<void> => {
    const id = nextId++;
    const applied = new Promise<void>((resolve) => pending.set(id, resolve));
    target.postMessage({ id, desired } satisfies ToRelayThread);
    return applied;
  };

  const start = (): Worker => {
    const thread = new Worker(workerFile, { workerData: { connectTimeoutMs: options.connectTimeoutMs } });
    // The relay serves only while the process lives for other reasons; it never keeps it alive.
    thread.unref();
    thread.on('message', (message: FromRelayThread) => {
      if ('error' in message) {
        onError(new Error(message.error));
        return;
      }
      listening = message.listening;
      // Messages are applied in order, so this one's answer settles every earlier one too.
      for (const [id, resolve] of pending) {
        if (id > message.id) break;
        pending.delete(id);
        resolve();
      }
    });
    thread.on('error', (error) => onError(new Error(`service proxy thread: ${error.message}`, { cause: error })));
    thread.on('exit', (code) => {
      if (closed) return;
      // A dead relay stops every Service: start another with the last desired listeners.
      onError(new Error(`service proxy thread exited with code ${code}; starting it again`));
      worker = start();
      void post(worker, last);
    });
    return thread;
  };
  let worker = start();

  return {
    update(services, pods, staticEndpoints = new Map()) {
      if (closed) return Promise.resolve();
      last = [...desiredListeners(services, pods, staticEndpoints)];
      return post(worker, last);
    },
    listening: () => listening,
    async close() {
      if (closed) return;
      closed = true;
      await post(worker, []);
      await worker.terminate();
      for (const resolve of pending.values()) resolve();
      pending.clear();
    },
  };
}
