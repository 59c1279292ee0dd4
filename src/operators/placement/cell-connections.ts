// Clients for remote cells, made from the kubeconfig Secrets their Cells name, each with an
// informer over the Cluster copies in that cell (label tessera.dev/global-cluster-uid), so
// status flows back on events and a converged fleet costs no reads. A Cell without a
// kubeconfigSecretRef is the global cluster itself: guests placed there are not copied.
import { KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { Cell } from '../../api/v1alpha1/cell.ts';
import type { Cluster } from '../../api/v1alpha1/cluster.ts';
import { Informer, objectKey } from '../../controller/informer.ts';
import { RestClient, resourcePath } from '../../controller/rest-client.ts';
import type { Logger } from '../../controller/logger.ts';
import { FleetLabel } from './status.ts';

export type CellConnection = { cell: string; client: RestClient; copies: Informer<Cluster>; secretVersion: string; synced: boolean };

export class CellConnections {
  private readonly connections = new Map<string, CellConnection>();
  private readonly global: RestClient;
  private readonly onCopyEvent: (key: string) => void;
  private readonly logger: Logger;

  constructor(options: { global: RestClient; onCopyEvent: (key: string) => void; logger: Logger }) {
    this.global = options.global;
    this.onCopyEvent = options.onCopyEvent;
    this.logger = options.logger;
  }

  get(cell: string): CellConnection | undefined {
    return this.connections.get(cell);
  }

  /**
   * The connection for a remote Cell, made or renewed when its Secret changed. Throws naming the
   * Secret when it cannot be read or holds no kubeconfig.
   */
  async connect(cell: Cell): Promise<CellConnection> {
    const reference = cell.spec.kubeconfigSecretRef;
    if (!reference) throw new Error(`Cell ${cell.metadata.name} has no spec.kubeconfigSecretRef: it is the global cluster itself`);
    const key = reference.key ?? 'kubeconfig';
    const secret = await this.global.get<V1Secret>(resourcePath({ version: 'v1', resource: 'secrets', namespace: reference.namespace, name: reference.name }));
    const existing = this.connections.get(cell.metadata.name);
    if (existing && existing.secretVersion === secret.metadata?.resourceVersion) return existing;
    const data = secret.data?.[key];
    if (!data) throw new Error(`Secret ${reference.namespace}/${reference.name} has no key ${key}: put the cell's kubeconfig there or set spec.kubeconfigSecretRef.key`);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(Buffer.from(data, 'base64').toString('utf8'));
    const client = new RestClient(kubeConfig);
    const copies = new Informer<Cluster>(client, '/apis/tessera.dev/v1alpha1/clusters', {
      labelSelector: FleetLabel.globalUid,
      onError: (error) => this.logger.debug('cell informer error', { cell: cell.metadata.name, error: (error as Error).message }),
    });
    copies.on(({ object }) => this.onCopyEvent(objectKey(object)));
    const connection: CellConnection = { cell: cell.metadata.name, client, copies, secretVersion: secret.metadata?.resourceVersion ?? '', synced: false };
    if (existing) await existing.copies.stop();
    this.connections.set(cell.metadata.name, connection);
    void copies.start().then(() => {
      connection.synced = true;
      // Copies listed for the first time: their global Clusters look at them now.
      for (const copy of copies.list()) this.onCopyEvent(objectKey(copy));
    });
    return connection;
  }

  async disconnect(cell: string): Promise<void> {
    const connection = this.connections.get(cell);
    this.connections.delete(cell);
    await connection?.copies.stop();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.connections.keys()].map((cell) => this.disconnect(cell)));
  }
}
