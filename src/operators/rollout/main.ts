// The package-rollout operator alone, as its own process: for a meta cluster that runs it apart
// from the other operators (TESSERA_EMBEDDED_ROLLOUTS=0 with `tessera up`), and for the test that
// kills it during a rollout. Leader-elected on its own Lease unless --no-leader-elect.
// Usage: node src/operators/rollout/main.ts [--kubeconfig FILE] [--no-leader-elect]
import { KubeConfig } from '@kubernetes/client-node';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { RestClient } from '../../controller/rest-client.ts';
import { Logger } from '../../controller/logger.ts';
import { LeaderElector } from '../../controller/leader-election.ts';
import { RolloutOperator } from './operator.ts';

const { values } = parseArgs({
  allowNegative: true,
  options: {
    kubeconfig: { type: 'string' },
    'leader-elect': { type: 'boolean', default: true },
    'leader-election-namespace': { type: 'string', default: process.env['POD_NAMESPACE'] ?? 'tessera-system' },
  },
});
const logger = new Logger({ bindings: { component: 'package-rollout-operator', pid: process.pid } });
const kubeConfig = new KubeConfig();
if (values.kubeconfig) kubeConfig.loadFromFile(values.kubeconfig);
else kubeConfig.loadFromCluster();
const client = new RestClient(kubeConfig);
const operator = new RolloutOperator({ client, logger });
let elector: LeaderElector | undefined;
if (values['leader-elect']) {
  elector = new LeaderElector({
    client,
    namespace: values['leader-election-namespace'] ?? 'tessera-system',
    name: 'tessera-package-rollouts',
    identity: `${hostname()}_${randomUUID()}`,
    logger,
    onStartedLeading: () => operator.start(),
    // Another replica may already reconcile: stop at once.
    onStoppedLeading: async () => {
      await operator.stop();
      process.exit(0);
    },
  });
  void elector.run();
} else {
  await operator.start();
  logger.info('package-rollout operator started');
}
const shutdown = async () => {
  await operator.stop();
  await elector?.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
