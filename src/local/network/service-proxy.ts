// A userspace kube-proxy for the local meta cluster. Its Service CIDR is loopback, so a
// ClusterIP is an address this host already owns: listening on clusterIP:port and relaying each
// TCP connection to a ready endpoint is all a Service needs, with no iptables and no root.
// Only TCP is proxied (UDP Service ports are left alone); sessionAffinity is not honoured.
import { connect, createServer, isIPv4 } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { endpointIsPublished, endpointsForService, serviceKey } from './service-endpoints.ts';

export interface StaticEndpoint {
  ip: string;
  port: number;
}

export interface ServiceProxyOptions {
  /** Listen failures and other unexpected errors; the proxy keeps running. */
  onError?: (error: Error) => void;
  /** How long to wait for one endpoint to accept before trying the next. Default 3000 ms. */
  connectTimeoutMs?: number;
}

export interface ServiceProxy {
  /**
   * Brings the listeners in line with `services`: opens `clusterIP:port` for every TCP port of
   * every non-headless Service with a loopback ClusterIP, closes the rest, and points each at the
   * Service's current endpoints. Idempotent; calls are applied in order. `staticEndpoints`, keyed
   * `namespace/name`, gives the endpoints of Services without a selector (`default/kubernetes`
   * -> the API server) and is used for every port of that Service. A listener that cannot be
   * opened is reported to onError and tried again on the next update.
   */
  update(services: readonly V1Service[], pods: readonly V1Pod[], staticEndpoints?: ReadonlyMap<string, readonly StaticEndpoint[]>): Promise<void>;
  /** The `ip:port` pairs listened on, sorted. */
  listening(): string[];
  /** Closes every listener and every relayed connection. */
  close(): Promise<void>;
}

interface Listener {
  server: Server;
  service: string;
  backends: StaticEndpoint[];
  nextBackend: number;
  connections: Set<Socket>;
}

/** One `ip:port` to listen on and where to send its connections: plain data, so it can cross threads. */
export interface DesiredListener {
  ip: string;
  port: number;
  service: string;
  backends: StaticEndpoint[];
}

export function isLoopbackIPv4(ip: string): boolean {
  return isIPv4(ip) && ip.startsWith('127.');
}

export function desiredListeners(
  services: readonly V1Service[],
  pods: readonly V1Pod[],
  staticEndpoints: ReadonlyMap<string, readonly StaticEndpoint[]>,
): Map<string, DesiredListener> {
  const desired = new Map<string, DesiredListener>();
  for (const service of services) {
    const spec = service.spec;
    if (!spec || spec.type === 'ExternalName' || spec.clusterIP === 'None') continue;
    const clusterIPs = new Set([...(spec.clusterIPs ?? []), ...(spec.clusterIP ? [spec.clusterIP] : [])]);
    const loopbackIPs = [...clusterIPs].filter(isLoopbackIPv4);
    if (loopbackIPs.length === 0) continue;
    const key = serviceKey(service);
    const fixed = staticEndpoints.get(key);
    const endpoints = fixed ? [] : endpointsForService(service, pods).filter((e) => endpointIsPublished(service, e));
    for (const servicePort of spec.ports ?? []) {
      if ((servicePort.protocol ?? 'TCP') !== 'TCP') continue;
      const backends = fixed
        ? fixed.map((e) => ({ ip: e.ip, port: e.port }))
        : endpoints.flatMap((e) => {
            const match = e.ports.find((p) => p.port === servicePort.port && p.protocol === 'TCP' && p.name === (servicePort.name || undefined));
            return match ? [{ ip: e.ip, port: match.targetPort }] : [];
          });
      for (const ip of loopbackIPs) {
        desired.set(`${ip}:${servicePort.port}`, { ip, port: servicePort.port, service: key, backends });
      }
    }
  }
  return desired;
}

/** The data path: listeners and the connections they relay, brought in line with a desired set. */
export interface Relay {
  /** Opens, repoints and closes listeners to match `desired` (keyed `ip:port`). */
  apply(desired: ReadonlyMap<string, DesiredListener>): Promise<void>;
  listening(): string[];
}

export function createRelay(options: ServiceProxyOptions = {}): Relay {
  const onError = options.onError ?? (() => {});
  const connectTimeoutMs = options.connectTimeoutMs ?? 3000;
  const listeners = new Map<string, Listener>();

  // Round robin over the backends, moving on when one refuses or does not answer in time: a pod
  // that just died must not fail the client while its Ready condition catches up.
  function relay(listener: Listener, client: Socket): void {
    listener.connections.add(client);
    client.on('close', () => listener.connections.delete(client));
    client.on('error', () => client.destroy());
    const backends = listener.backends;
    const first = listener.nextBackend % Math.max(backends.length, 1);
    listener.nextBackend = first + 1;
    // Connecting from the client's own loopback address keeps the source IP visible to the pod,
    // as kube-proxy's DNAT does. Only towards loopback: a 127.x source cannot leave the host.
    const clientAddress = client.remoteAddress && isLoopbackIPv4(client.remoteAddress) ? client.remoteAddress : undefined;

    const attempt = (tried: number): void => {
      const backend = backends[(first + tried) % backends.length];
      if (tried >= backends.length || !backend || client.destroyed) {
        // Nobody took it: a reset tells the client at once, like kube-proxy's REJECT rule.
        if (!client.destroyed) client.resetAndDestroy();
        return;
      }
      const localAddress = isLoopbackIPv4(backend.ip) ? clientAddress : undefined;
      const upstream = connect({ host: backend.ip, port: backend.port, localAddress, allowHalfOpen: true, timeout: connectTimeoutMs });
      const giveUp = (): void => {
        upstream.destroy();
        attempt(tried + 1);
      };
      upstream.once('timeout', giveUp);
      upstream.once('error', giveUp);
      upstream.once('connect', () => {
        upstream.off('timeout', giveUp);
        upstream.off('error', giveUp);
        upstream.setTimeout(0);
        if (client.destroyed) {
          upstream.destroy();
          return;
        }
        listener.connections.add(upstream);
        upstream.on('close', () => listener.connections.delete(upstream));
        // An error on either side tears down both. A clean end travels through pipe() as a
        // half-close, and the other side finishes writing what it holds before it closes.
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
      });
    };
    attempt(0);
  }

  function open(key: string, wanted: DesiredListener): Promise<void> {
    const listener: Listener = {
      server: createServer({ allowHalfOpen: true, pauseOnConnect: true }),
      service: wanted.service,
      backends: wanted.backends,
      nextBackend: 0,
      connections: new Set(),
    };
    listener.server.on('connection', (client: Socket) => relay(listener, client));
    return new Promise((resolve) => {
      listener.server.once('error', (error) => {
        onError(new Error(`service proxy: Service ${wanted.service} cannot listen on ${key}: ${error.message}`, { cause: error }));
        resolve();
      });
      listener.server.listen(wanted.port, wanted.ip, () => {
        listener.server.removeAllListeners('error');
        listener.server.on('error', (error) => onError(new Error(`service proxy: listener ${key} of Service ${wanted.service}: ${error.message}`, { cause: error })));
        listeners.set(key, listener);
        resolve();
      });
    });
  }

  function shut(key: string, listener: Listener): Promise<void> {
    listeners.delete(key);
    for (const socket of listener.connections) socket.destroy();
    return new Promise((resolve) => listener.server.close(() => resolve()));
  }

  async function apply(desired: ReadonlyMap<string, DesiredListener>): Promise<void> {
    const work: Promise<void>[] = [];
    for (const [key, listener] of listeners) {
      if (!desired.has(key)) work.push(shut(key, listener));
    }
    for (const [key, wanted] of desired) {
      const listener = listeners.get(key);
      if (listener) {
        listener.service = wanted.service;
        listener.backends = wanted.backends;
      } else {
        work.push(open(key, wanted));
      }
    }
    await Promise.all(work);
  }

  return {
    apply,
    listening() {
      return [...listeners.keys()].sort();
    },
  };
}

/** The Service proxy on the caller's own event loop. */
export function createServiceProxy(options: ServiceProxyOptions = {}): ServiceProxy {
  const relay = createRelay(options);
  let queue: Promise<void> = Promise.resolve();
  let closed = false;
  return {
    update(services, pods, staticEndpoints = new Map()) {
      const desired = desiredListeners(services, pods, staticEndpoints);
      queue = queue.then(() => (closed ? undefined : relay.apply(desired)));
      return queue;
    },
    listening: () => relay.listening(),
    close() {
      closed = true;
      queue = queue.then(() => relay.apply(new Map()));
      return queue;
    },
  };
}
