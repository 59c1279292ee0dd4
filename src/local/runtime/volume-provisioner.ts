// Dynamic provisioning for the local meta cluster: the default StorageClass `tessera-local`
// gives each PersistentVolumeClaim a directory under $TESSERA_HOME/volumes, exposed as a
// hostPath PersistentVolume pre-bound to the claim. All simulated nodes share one disk, so a pod
// keeps its data wherever it is rescheduled. Reclaim policy Delete removes the directory.
import type { V1PersistentVolumeClaim, V1PersistentVolume } from '@kubernetes/client-node';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Informer } from '../../controller/informer.ts';
import { isAlreadyExists, isNotFound, type RestClient } from '../../controller/rest-client.ts';
import type { EventRecorder } from '../../controller/events.ts';

export const storageClassName = 'tessera-local';
export const provisionerName = 'tessera.dev/local-directory';

export function storageClass(): object {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: storageClassName, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: provisionerName,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
  };
}

export class VolumeProvisioner {
  private readonly client: RestClient;
  private readonly events: EventRecorder;
  private readonly directory: string;
  private readonly claims: Informer<V1PersistentVolumeClaim>;
  private readonly volumes: Informer<V1PersistentVolume>;
  private readonly onError: (error: unknown) => void;
  private pending = Promise.resolve();

  constructor(client: RestClient, events: EventRecorder, directory: string, onError: (error: unknown) => void) {
    this.client = client;
    this.events = events;
    this.directory = directory;
    this.onError = onError;
    this.claims = new Informer(client, '/api/v1/persistentvolumeclaims', { onError });
    this.volumes = new Informer(client, '/api/v1/persistentvolumes', { onError });
  }

  static pathOf(pv: V1PersistentVolume): string | undefined {
    return pv.spec?.hostPath?.path;
  }

  async start(): Promise<void> {
    await this.client.create('/apis/storage.k8s.io/v1/storageclasses', storageClass()).catch((error: unknown) => {
      if (!isAlreadyExists(error)) throw error;
    });
    // Nothing is decided until both caches are full: with volumes listed and claims not yet,
    // every volume would look orphaned and its data be deleted (as on `up` after `down`).
    let synced = false;
    const enqueue = () => {
      if (!synced) return;
      this.pending = this.pending.then(() => this.reconcile()).catch(this.onError);
    };
    this.claims.on(enqueue);
    this.volumes.on(enqueue);
    await Promise.all([this.claims.start(), this.volumes.start()]);
    synced = true;
    enqueue();
  }

  async stop(): Promise<void> {
    await Promise.all([this.claims.stop(), this.volumes.stop()]);
    await this.pending;
  }

  private async reconcile(): Promise<void> {
    const provisioned = new Map(this.volumes.list().filter((pv) => pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'] === provisionerName).map((pv) => [pv.metadata?.name ?? '', pv]));
    for (const claim of this.claims.list()) {
      const className = claim.spec?.storageClassName;
      if (className !== storageClassName || claim.spec?.volumeName || claim.metadata?.deletionTimestamp) continue;
      const name = `pvc-${claim.metadata?.uid}`;
      if (provisioned.has(name)) continue;
      await this.provision(claim, name);
    }
    // A volume is released once its claim is gone. The PV controller says so in status.phase,
    // but only on its own schedule (seconds); the claim's disappearance from the cache is the
    // same fact, seen at once. Every provisioned volume's claim existed when it was provisioned.
    const claimUids = new Set(this.claims.list().map((claim) => claim.metadata?.uid));
    for (const pv of provisioned.values()) {
      const claimGone = pv.spec?.claimRef?.uid !== undefined && !claimUids.has(pv.spec.claimRef.uid);
      if ((pv.status?.phase === 'Released' || claimGone) && pv.spec?.persistentVolumeReclaimPolicy === 'Delete' && await this.claimIsGone(pv)) await this.reclaim(pv);
    }
  }

  /** Deleting data is the one step that cannot be undone, so a cache's word is checked live first. */
  private async claimIsGone(pv: V1PersistentVolume): Promise<boolean> {
    const ref = pv.spec?.claimRef;
    if (!ref?.name) return true;
    try {
      const claim = await this.client.get<V1PersistentVolumeClaim>(`/api/v1/namespaces/${ref.namespace ?? 'default'}/persistentvolumeclaims/${ref.name}`);
      return claim.metadata?.uid !== ref.uid;
    } catch (error) {
      if (isNotFound(error)) return true;
      throw error;
    }
  }

  private async provision(claim: V1PersistentVolumeClaim, name: string): Promise<void> {
    const path = join(this.directory, name);
    await mkdir(path, { recursive: true });
    const storage = claim.spec?.resources?.requests?.['storage'] ?? '1Gi';
    const pv: V1PersistentVolume = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': provisionerName }, labels: { 'tessera.dev/volume': 'local-directory' } },
      spec: {
        capacity: { storage },
        accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName,
        volumeMode: 'Filesystem',
        hostPath: { path, type: 'DirectoryOrCreate' },
        claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: claim.metadata?.namespace, name: claim.metadata?.name, uid: claim.metadata?.uid },
      },
    };
    try {
      await this.client.create('/api/v1/persistentvolumes', pv);
      this.events.normal({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: claim.metadata?.name ?? '', namespace: claim.metadata?.namespace, uid: claim.metadata?.uid }, 'ProvisioningSucceeded', `Provisioned volume ${name} at ${path}`);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
  }

  private async reclaim(pv: V1PersistentVolume): Promise<void> {
    const path = VolumeProvisioner.pathOf(pv);
    if (path?.startsWith(this.directory)) await rm(path, { recursive: true, force: true });
    await this.client.delete(`/api/v1/persistentvolumes/${pv.metadata?.name}`).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
  }
}
