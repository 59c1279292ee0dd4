// The Cluster operator and the Node operator as `tessera up` runs them in-process (package
// archives from the local cache, the local node fabric), but as a process of their own, so a test
// can kill it at any moment and a benchmark can read its memory. src/operators/main.ts cannot
// serve here: nothing outside src/local may depend on the local fabric, so it has none and joins
// no local host. Started by local-operators-process.ts with the meta cluster's TESSERA_HOME.
// Usage: node local-operators-main.ts KUBECONFIG
import { KubeConfig } from '@kubernetes/client-node';
import { RestClient } from '../../src/controller/rest-client.ts';
import { Logger } from '../../src/controller/logger.ts';
import { ClusterOperator } from '../../src/operators/cluster/operator.ts';
import { MachineOperator } from '../../src/operators/machine/operator.ts';
import { localArtifacts, localNodeFabric } from '../../src/local/hosts/node-fabric.ts';
import { loadFabric } from '../../src/local/hosts/local-hosts.ts';
import { writeEgressSelectorFile } from '../../src/local/fabric/guest-link.ts';
import { resolveHome } from '../../src/local/home.ts';

const kubeconfigPath = process.argv[2];
if (!kubeconfigPath) throw new Error('usage: local-operators-main.ts KUBECONFIG (e.g. $TESSERA_HOME/operator.kubeconfig)');
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(kubeconfigPath);
const logger = new Logger({ write: (line) => process.stdout.write(`${line}\n`), bindings: { component: 'local-operators', pid: process.pid } });
// Guest API servers reach the local hosts through the fabric's egress proxy, as with `tessera up`.
const home = resolveHome().root;
const egressSelectorConfigFile = await writeEgressSelectorFile(home, await loadFabric(home));
const clusters = new ClusterOperator({ client: new RestClient(kubeConfig), logger: logger.child({ controller: 'cluster' }), egressSelectorConfigFile });
await clusters.start();
const machines = new MachineOperator({
  client: new RestClient(kubeConfig),
  logger: logger.child({ controller: 'machine' }),
  artifacts: localArtifacts(),
  fabric: localNodeFabric(),
  healthCheckPeriodMs: Number(process.env['TESSERA_MACHINE_HEALTH_PERIOD_MS'] ?? 30_000),
});
await machines.start();
logger.info('Cluster operator and Node operator started');

const shutdown = async () => {
  await machines.stop();
  await clusters.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
