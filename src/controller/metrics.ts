// Prometheus metrics under controller-runtime's names, labels and buckets
// (pkg/internal/controller/metrics, pkg/metrics/workqueue.go, client_go_adapter.go,
// leaderelection.go), so stock controller-runtime dashboards and alerts work unchanged.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RestClient } from './rest-client.ts';
import type { WorkQueueMetrics } from './workqueue.ts';

export type ReconcileOutcome = 'success' | 'error' | 'requeue' | 'requeue_after';

const reconcileBuckets = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15,
  20, 25, 30, 40, 50, 60,
];
// ExponentialBuckets(10e-9, 10, 12): 10ns to 1000s.
const queueBuckets = Array.from({ length: 12 }, (_, i) => Number((1e-8 * 10 ** i).toPrecision(1)));

type WorkQueueSource = { unfinishedWorkSeconds(): number; longestRunningProcessorSeconds(): number };

export type ControllerMetricsOptions = {
  registry?: Registry;
  /** Also export Node process metrics (CPU, memory, event loop lag), as controller-runtime exports Go's. */
  processMetrics?: boolean;
};

/** All metrics of one process in one registry; create one per registry (names may be registered once). */
export class ControllerMetrics {
  readonly registry: Registry;
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly maxConcurrentReconciles: Gauge<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly workQueueDepth: Gauge<'name' | 'controller' | 'priority'>;
  readonly workQueueAdds: Counter<'name' | 'controller'>;
  readonly workQueueLatency: Histogram<'name' | 'controller'>;
  readonly workQueueWorkDuration: Histogram<'name' | 'controller'>;
  readonly workQueueUnfinished: Gauge<'name' | 'controller'>;
  readonly workQueueLongestRunning: Gauge<'name' | 'controller'>;
  readonly workQueueRetries: Counter<'name' | 'controller'>;
  readonly restClientRequests: Counter<'code' | 'method' | 'host'>;
  readonly leaderElectionStatus: Gauge<'name'>;
  private readonly queues = new Map<string, WorkQueueSource>();

  constructor(options: ControllerMetricsOptions = {}) {
    const registry = options.registry ?? new Registry();
    this.registry = registry;
    const registers = [registry];
    const queues = this.queues;
    this.reconcileTotal = new Counter({ name: 'controller_runtime_reconcile_total', help: 'Total number of reconciliations per controller', labelNames: ['controller', 'result'], registers });
    this.reconcileErrors = new Counter({ name: 'controller_runtime_reconcile_errors_total', help: 'Total number of reconciliation errors per controller', labelNames: ['controller'], registers });
    this.reconcileTime = new Histogram({ name: 'controller_runtime_reconcile_time_seconds', help: 'Length of time per reconciliation per controller', labelNames: ['controller'], buckets: reconcileBuckets, registers });
    this.maxConcurrentReconciles = new Gauge({ name: 'controller_runtime_max_concurrent_reconciles', help: 'Maximum number of concurrent reconciles per controller', labelNames: ['controller'], registers });
    this.activeWorkers = new Gauge({ name: 'controller_runtime_active_workers', help: 'Number of currently used workers per controller', labelNames: ['controller'], registers });
    this.workQueueDepth = new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue by workqueue and priority', labelNames: ['name', 'controller', 'priority'], registers });
    this.workQueueAdds = new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames: ['name', 'controller'], registers });
    this.workQueueLatency = new Histogram({ name: 'workqueue_queue_duration_seconds', help: 'How long in seconds an item stays in workqueue before being requested', labelNames: ['name', 'controller'], buckets: queueBuckets, registers });
    this.workQueueWorkDuration = new Histogram({ name: 'workqueue_work_duration_seconds', help: 'How long in seconds processing an item from workqueue takes.', labelNames: ['name', 'controller'], buckets: queueBuckets, registers });
    this.workQueueUnfinished = new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help: "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck workers.",
      labelNames: ['name', 'controller'],
      registers,
      collect() {
        for (const [name, queue] of queues) this.set({ name, controller: name }, queue.unfinishedWorkSeconds());
      },
    });
    this.workQueueLongestRunning = new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: ['name', 'controller'],
      registers,
      collect() {
        for (const [name, queue] of queues) this.set({ name, controller: name }, queue.longestRunningProcessorSeconds());
      },
    });
    this.workQueueRetries = new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue', labelNames: ['name', 'controller'], registers });
    this.restClientRequests = new Counter({ name: 'rest_client_requests_total', help: 'Number of HTTP requests, partitioned by status code, method, and host.', labelNames: ['code', 'method', 'host'], registers });
    this.leaderElectionStatus = new Gauge({ name: 'leader_election_master_status', help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.', labelNames: ['name'], registers });
    if (options.processMetrics) collectDefaultMetrics({ register: registry });
  }

  /** Registers a controller so its series exist (at zero) before its first reconcile, as controller-runtime does. */
  registerController(controller: string, workers: number): void {
    for (const result of ['success', 'error', 'requeue', 'requeue_after'] as const) this.reconcileTotal.inc({ controller, result }, 0);
    this.reconcileErrors.inc({ controller }, 0);
    this.maxConcurrentReconciles.set({ controller }, workers);
    this.activeWorkers.set({ controller }, 0);
  }

  reconciled(controller: string, result: ReconcileOutcome, seconds: number): void {
    this.reconcileTotal.inc({ controller, result });
    if (result === 'error') this.reconcileErrors.inc({ controller });
    this.reconcileTime.observe({ controller }, seconds);
  }

  /** The sink a WorkQueue named `name` reports to; controller-runtime labels name and controller alike. */
  workQueue(name: string): WorkQueueMetrics {
    const labels = { name, controller: name };
    this.workQueueDepth.set({ ...labels, priority: '' }, 0);
    this.workQueueAdds.inc(labels, 0);
    this.workQueueRetries.inc(labels, 0);
    return {
      added: () => this.workQueueAdds.inc(labels),
      depth: (depth) => this.workQueueDepth.set({ ...labels, priority: '' }, depth),
      queued: (seconds) => this.workQueueLatency.observe(labels, seconds),
      worked: (seconds) => this.workQueueWorkDuration.observe(labels, seconds),
      retried: () => this.workQueueRetries.inc(labels),
      track: (queue) => this.queues.set(name, queue),
    };
  }

  /** Counts every request `client` makes by status code, HTTP method and host. */
  observeRestClient(client: RestClient): void {
    client.onResponse(({ method, host, code }) => this.restClientRequests.inc({ code, method, host }));
  }

  setLeader(name: string, leading: boolean): void {
    this.leaderElectionStatus.set({ name }, leading ? 1 : 0);
  }
}

export type MetricsServer = { url: string; port: number; close(): Promise<void> };

/** Serves `GET /metrics` in the Prometheus text format; any other path is 404. */
export async function startMetricsServer(options: { host?: string; port?: number; registry: Registry }): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://metrics').pathname;
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are served at GET /metrics\n');
      return;
    }
    options.registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': options.registry.contentType }).end(request.method === 'HEAD' ? undefined : text),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${(error as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`metrics server cannot listen on ${host}:${options.port ?? 8080}: ${error.code ?? error.message}; pick a free port`, { cause: error })),
    );
    server.listen(options.port ?? 8080, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/metrics`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
