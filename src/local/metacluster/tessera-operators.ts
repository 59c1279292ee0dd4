// Tessera's own parts on the local meta cluster: the CRDs, the Cluster operator (under its own
// least-privilege identity, the same ClusterRole deploy/operator ships), and the Cluster network
// admission webhook. On a real meta cluster the same pieces come from deploy/.
import { KubeConfig } from '@kubernetes/client-node';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { RestClient, resourcePath } from '../../controller/rest-client.ts';
import { SharedInformers } from '../../controller/informer.ts';
import { Logger } from '../../controller/logger.ts';
import { ClusterOperator } from '../../operators/cluster/operator.ts';
import { MachineOperator } from '../../operators/machine/operator.ts';
import { RolloutOperator } from '../../operators/rollout/operator.ts';
import { localArtifacts, localNodeFabric } from '../hosts/node-fabric.ts';
import { loadFabric } from '../hosts/local-hosts.ts';
import { writeEgressSelectorFile } from '../fabric/guest-link.ts';
import { startAdmissionServer } from '../../operators/admission/admission-server.ts';
import { renderClusterWebhookConfiguration } from '../../operators/admission/webhook-configuration.ts';
import { issueCertificate } from '../../pki/leaf-certificate.ts';
import type { KeyPairPem } from '../../pki/certificate-authority.ts';
import { parseDuration } from '../../api/v1alpha1/cluster.ts';
import { FleetOperator } from '../../operators/placement/operator.ts';
import { TieringController } from '../../operators/tiering/tiering-controller.ts';
import { CELL_NAME_ENV, registerGlobalCell, resumeLocalCells, stopLocalCells } from '../cells/local-cells.ts';
import { resolveHome } from '../home.ts';

const deployDirectory = fileURLToPath(new URL('../../../deploy/', import.meta.url));
export const operatorUser = 'tessera:cluster-operator';

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

async function manifests(relative: string): Promise<Manifest[]> {
  const directory = join(deployDirectory, relative);
  const files = (await readdir(directory)).filter((file) => file.endsWith('.yaml')).sort();
  const documents: Manifest[] = [];
  for (const file of files) for (const document of parseAllDocuments(await readFile(join(directory, file), 'utf8'))) {
    const value = document.toJSON() as Manifest | null;
    if (value) documents.push(value);
  }
  return documents;
}

function pathFor(manifest: Manifest): string {
  const [group, version] = manifest.apiVersion.includes('/') ? (manifest.apiVersion.split('/') as [string, string]) : ['', manifest.apiVersion];
  const resource: Record<string, string> = {
    CustomResourceDefinition: 'customresourcedefinitions',
    ClusterRole: 'clusterroles',
    ClusterRoleBinding: 'clusterrolebindings',
    ValidatingWebhookConfiguration: 'validatingwebhookconfigurations',
  };
  const plural = resource[manifest.kind];
  if (!plural) throw new Error(`deploy manifest kind ${manifest.kind} is not applied by tessera up`);
  return resourcePath({ group: group || undefined, version, resource: plural, name: manifest.metadata.name });
}

export type TesseraOperators = { stop: () => Promise<void> };

/**
 * Installs the CRDs and the operator's RBAC, then (unless `embedded` is false, for tests that run
 * the operator as its own process) starts the operator and the admission webhook in-process.
 */
export async function startTesseraOperators(options: { admin: RestClient; ca: KeyPairPem; apiServerUrl: string; log: (message: string) => void; embedded: boolean; operatorKubeconfigPath: string }): Promise<TesseraOperators> {
  const { admin, ca } = options;
  // CRDs, then wait for them to be served.
  for (const crd of await manifests('crds')) {
    await admin.apply(pathFor(crd), crd, 'tessera-up', true);
    for (let attempt = 0; attempt < 100; attempt++) {
      const live = await admin.get<{ status?: { conditions?: { type: string; status: string }[] } }>(pathFor(crd));
      if (live.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  // The global cluster is also the Cell "local"; a local cell's own meta cluster is not (TESSERA_CELL_NAME).
  const isCell = process.env[CELL_NAME_ENV] !== undefined;
  if (!isCell) await registerGlobalCell(admin);
  // The operator's identity: a client certificate for a user bound to deploy/operator's ClusterRole.
  const role = (await manifests('operator')).find((m) => m.kind === 'ClusterRole');
  if (!role) throw new Error('deploy/operator has no ClusterRole for the operator');
  await admin.apply(pathFor(role), role, 'tessera-up', true);
  const binding = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'tessera-operator-local' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: operatorUser }] };
  await admin.apply(pathFor(binding), binding, 'tessera-up', true);
  const certificate = await issueCertificate({ ca, commonName: operatorUser, usages: ['client'], validity: 365 * 24 * 3600 * 1000 });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'meta', server: options.apiServerUrl, caData: Buffer.from(ca.certPem).toString('base64') }],
    users: [{ name: operatorUser, certData: Buffer.from(certificate.certPem).toString('base64'), keyData: Buffer.from(certificate.keyPem).toString('base64') }],
    contexts: [{ name: 'operator', cluster: 'meta', user: operatorUser }],
    currentContext: 'operator',
  });
  if (!options.embedded) {
    // For an operator run as its own process (tests): the same least-privilege identity, on disk.
    await writeFile(options.operatorKubeconfigPath, kubeConfig.exportConfig(), { mode: 0o600 });
    options.log(`Tessera operators not started in-process (TESSERA_EMBEDDED_OPERATORS=0); their identity is in ${options.operatorKubeconfigPath}`);
    return { stop: async () => {} };
  }
  const logger = new Logger({ write: (line) => options.log(`cluster-operator ${line}`), bindings: { controller: 'cluster' } });
  // TESSERA_CLUSTER_RESYNC (a Go duration) shortens the guest resync, for tests of drift repair.
  const resync = process.env['TESSERA_CLUSTER_RESYNC'];
  // Guest API servers reach the local hosts through the fabric's egress proxy (docs/hosts.md).
  const egressSelectorConfigFile = await writeEgressSelectorFile(resolveHome().root, await loadFabric(resolveHome().root));
  // One cache of each kind for all the operators here (Clusters are held once, not five times).
  const informers = new SharedInformers(new RestClient(kubeConfig));
  const operator = new ClusterOperator({ client: new RestClient(kubeConfig), logger, informers, resyncPeriodMs: resync ? parseDuration(resync) : undefined, egressSelectorConfigFile });
  await operator.start();
  // The Node operator beside it, with package archives from the local cache and the local fabric.
  const machineLogger = new Logger({ write: (line) => options.log(`machine-operator ${line}`), bindings: { controller: 'machine' } });
  const machines = new MachineOperator({ client: new RestClient(kubeConfig), logger: machineLogger, informers, artifacts: localArtifacts(), fabric: localNodeFabric(), healthCheckPeriodMs: Number(process.env['TESSERA_MACHINE_HEALTH_PERIOD_MS'] ?? 30_000) });
  await machines.start();
  // Package rollouts drive those Machines (docs/rollouts.md); TESSERA_EMBEDDED_ROLLOUTS=0 leaves them
  // to a process of their own (src/operators/rollout/main.ts), e.g. for a test that kills it.
  const rollouts = process.env['TESSERA_EMBEDDED_ROLLOUTS'] === '0' ? undefined : new RolloutOperator({ client: new RestClient(kubeConfig), informers, logger: new Logger({ write: (line) => options.log(`rollout-operator ${line}`), bindings: { controller: 'packagerollout' } }) });
  await rollouts?.start();
  // The fleet beside it: tiering in every meta cluster; placement, cells and profiles in the global one.
  const fleetLogger = (controller: string) => new Logger({ write: (line) => options.log(`${controller} ${line}`), bindings: { controller } });
  const tiering = new TieringController({ client: new RestClient(kubeConfig), informers, logger: fleetLogger('tiering') });
  await tiering.start();
  const fleet = isCell ? undefined : new FleetOperator({ client: new RestClient(kubeConfig), informers, logger: fleetLogger('placement') });
  await fleet?.start();
  // Local cells stopped by `tessera down` come back with the global cluster (in the background: they start on their own).
  if (!isCell) void resumeLocalCells(resolveHome(), options.log);

  // Admission for Cluster networks, served on loopback, called by the API server.
  const serving = await issueCertificate({ ca, commonName: 'tessera-admission', ipAddresses: ['127.0.0.1'], usages: ['server'], validity: 365 * 24 * 3600 * 1000 });
  const server = await startAdmissionServer({ host: '127.0.0.1', port: 0, certPem: serving.certPem, keyPem: serving.keyPem, clusters: () => operator.caches.clusters.list(), onError: (error) => options.log(`admission: ${(error as Error).message}`) });
  const webhook = renderClusterWebhookConfiguration({ url: `https://127.0.0.1:${server.port}` }, ca.certPem) as Manifest;
  await admin.apply(pathFor(webhook), webhook, 'tessera-up', true);
  options.log(`Cluster operator running as ${operatorUser}; admission webhook on 127.0.0.1:${server.port}`);
  return {
    stop: async () => {
      if (!isCell) await stopLocalCells(resolveHome(), options.log);
      await fleet?.stop();
      await tiering.stop();
      await rollouts?.stop();
      await machines.stop();
      await operator.stop();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
