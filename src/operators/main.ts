// The Tessera operators as a standalone process: what deploy/operator runs on a real meta
// cluster, and what tests kill at random moments. Leader-elected on a Lease, so several
// replicas can run and only one reconciles.
import { KubeConfig } from '@kubernetes/client-node';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { parseDuration } from '../api/v1alpha1/cluster.ts';
import { RestClient } from '../controller/rest-client.ts';
import { SharedInformers } from '../controller/informer.ts';
import { Logger } from '../controller/logger.ts';
import { ControllerMetrics, startMetricsServer } from '../controller/metrics.ts';
import { LeaderElector } from '../controller/leader-election.ts';
import { ClusterOperator, DEFAULT_WORKERS } from './cluster/operator.ts';
import { MachineOperator } from './machine/operator.ts';
import { packageDirectory } from './machine/package-directory.ts';
import { FleetOperator } from './placement/operator.ts';
import { TieringController } from './tiering/tiering-controller.ts';
import { RolloutOperator } from './rollout/operator.ts';

const { values } = parseArgs({
  // --no-leader-elect turns election off (a single replica, or tests).
  allowNegative: true,
  options: {
    kubeconfig: { type: 'string' },
    'leader-elect': { type: 'boolean', default: true },
    'leader-election-namespace': { type: 'string', default: process.env['POD_NAMESPACE'] ?? 'tessera-system' },
    'metrics-bind-address': { type: 'string', default: '127.0.0.1:8080' },
    workers: { type: 'string', default: String(DEFAULT_WORKERS) },
    // How often each guest's own objects are re-applied even if nothing changed (drift repair).
    'resync-period': { type: 'string', default: '5m' },
    // The cell's egress proxy for guest API servers to reach nodes (a file on the cell's nodes);
    // unset: the cell has none and guests dial nodes directly (spec.network.nodeReachability).
    'egress-selector-config-file': { type: 'string' },
    // Where the Node operator finds package archives (tessera packages build writes them).
    'package-dir': { type: 'string', default: '/var/lib/tessera/packages' },
    // Placement, Cells and profiles: on in the global cluster, off in a cell (--no-fleet). Tiering always runs.
    fleet: { type: 'boolean', default: true },
  },
});
const resyncPeriodMs = (() => {
  try {
    return parseDuration(values['resync-period'] ?? '5m');
  } catch (error) {
    throw new Error(`--resync-period: ${(error as Error).message}`, { cause: error });
  }
})();

const logger = new Logger({ bindings: { component: 'tessera-operators' } });
const kubeConfig = new KubeConfig();
if (values.kubeconfig) kubeConfig.loadFromFile(values.kubeconfig);
else kubeConfig.loadFromCluster();
const client = new RestClient(kubeConfig);
const metrics = new ControllerMetrics();
const [metricsHost, metricsPort] = (values['metrics-bind-address'] ?? '').split(':');
const metricsServer = await startMetricsServer({ host: metricsHost, port: Number(metricsPort), registry: metrics.registry });
logger.info('serving metrics', { url: metricsServer.url });

let operator: ClusterOperator | undefined;
let machines: MachineOperator | undefined;
let tiering: TieringController | undefined;
let fleet: FleetOperator | undefined;
let rollouts: RolloutOperator | undefined;
const startOperator = async () => {
  // One cache of each kind for every operator of the process: Clusters are listed and held once, not five times.
  const informers = new SharedInformers(client);
  operator = new ClusterOperator({ client, logger, metrics, informers, workers: Number(values.workers), resyncPeriodMs, egressSelectorConfigFile: values['egress-selector-config-file'] });
  await operator.start();
  logger.info('Cluster operator started');
  machines = new MachineOperator({ client, logger, metrics, informers, artifacts: packageDirectory(values['package-dir'] ?? '/var/lib/tessera/packages') });
  await machines.start();
  logger.info('Node operator started');
  rollouts = new RolloutOperator({ client, logger, metrics, informers });
  await rollouts.start();
  logger.info('package-rollout operator started');
  tiering = new TieringController({ client, logger, metrics, informers });
  await tiering.start();
  if (values.fleet) {
    fleet = new FleetOperator({ client, logger, metrics, informers });
    await fleet.start();
  }
  logger.info('fleet controllers started', { placement: values.fleet });
};
const stopOperators = async () => {
  await rollouts?.stop();
  await machines?.stop();
  await fleet?.stop();
  await tiering?.stop();
  await operator?.stop();
};

let elector: LeaderElector | undefined;
if (values['leader-elect']) {
  elector = new LeaderElector({
    client,
    namespace: values['leader-election-namespace'] ?? 'tessera-system',
    name: 'tessera-operators',
    identity: `${hostname()}_${randomUUID()}`,
    logger,
    metrics,
    onStartedLeading: startOperator,
    // Losing the Lease means another replica may already reconcile: stop at once.
    onStoppedLeading: async () => {
      await stopOperators();
      process.exit(0);
    },
  });
  void elector.run();
} else {
  await startOperator();
}

const shutdown = async (signal: string) => {
  logger.info('shutting down', { signal });
  await stopOperators();
  await elector?.stop();
  await metricsServer.close();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
