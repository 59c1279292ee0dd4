// Volumes as directories: the runtime materialises each volume of a pod under the pod's
// directory (or, for persistent volumes, the provisioned directory) and the container entry
// script bind-mounts them at their mount paths.
import type { V1Pod, V1Volume, V1KeyToPath, V1PersistentVolumeClaim, V1PersistentVolume, V1Secret, V1ConfigMap } from '@kubernetes/client-node';
import { mkdir, rename, writeFile, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RestClient } from '../../controller/rest-client.ts';
import { fieldRefValue } from './environment.ts';

export type MaterialisedVolume = { name: string; path: string; readOnly: boolean };

export class VolumeNotReadyError extends Error {}

async function writeAtomically(path: string, content: string | Buffer, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  try {
    if ((await readFile(path)).equals(Buffer.from(content))) return;
  } catch {
    // not there yet
  }
  const temporary = `${path}.tessera-tmp`;
  await writeFile(temporary, content, { mode });
  await rename(temporary, path);
}

function selectItems(data: Record<string, Buffer>, items: V1KeyToPath[] | undefined, what: string): { path: string; content: Buffer; mode?: number }[] {
  if (!items?.length) return Object.entries(data).map(([key, content]) => ({ path: key, content }));
  return items.map((item) => {
    const content = data[item.key];
    if (!content) throw new VolumeNotReadyError(`${what} has no key "${item.key}"`);
    return { path: item.path, content, mode: item.mode };
  });
}

function secretData(secret: V1Secret): Record<string, Buffer> {
  const data: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(secret.data ?? {})) data[key] = Buffer.from(value, 'base64');
  for (const [key, value] of Object.entries(secret.stringData ?? {})) data[key] = Buffer.from(value);
  return data;
}

function configMapData(configMap: V1ConfigMap): Record<string, Buffer> {
  const data: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(configMap.data ?? {})) data[key] = Buffer.from(value);
  for (const [key, value] of Object.entries(configMap.binaryData ?? {})) data[key] = Buffer.from(value, 'base64');
  return data;
}

export type VolumeContext = {
  client: RestClient;
  pod: V1Pod;
  podDirectory: string;
  /** Where a PersistentVolume's data lives: the provisioner's hostPath. */
  persistentVolumePath: (pv: V1PersistentVolume) => string | undefined;
};

async function getOptional<T>(client: RestClient, path: string, optional: boolean | undefined, what: string): Promise<T | undefined> {
  try {
    return await client.get<T>(path);
  } catch (error) {
    if (optional) return undefined;
    throw new VolumeNotReadyError(`${what}: ${(error as Error).message}`);
  }
}

/** Writes (or refreshes) one volume's files and returns where it lives. */
export async function materialiseVolume(volume: V1Volume, context: VolumeContext): Promise<MaterialisedVolume> {
  const { client, pod } = context;
  const namespace = pod.metadata?.namespace ?? 'default';
  const directory = join(context.podDirectory, 'volumes', volume.name);
  const files: { path: string; content: Buffer; mode?: number }[] = [];
  let defaultMode = 0o644;

  if (volume.emptyDir) {
    await mkdir(directory, { recursive: true });
    return { name: volume.name, path: directory, readOnly: false };
  }
  if (volume.hostPath) {
    if (volume.hostPath.type === 'DirectoryOrCreate') await mkdir(volume.hostPath.path, { recursive: true });
    return { name: volume.name, path: volume.hostPath.path, readOnly: false };
  }
  if (volume.persistentVolumeClaim) {
    const claimName = volume.persistentVolumeClaim.claimName;
    const claim = await getOptional<V1PersistentVolumeClaim>(client, `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${claimName}`, false, `persistentVolumeClaim "${claimName}"`);
    const volumeName = claim?.spec?.volumeName;
    if (!volumeName || claim?.status?.phase !== 'Bound') throw new VolumeNotReadyError(`persistentVolumeClaim "${claimName}" is not bound yet`);
    const pv = await getOptional<V1PersistentVolume>(client, `/api/v1/persistentvolumes/${volumeName}`, false, `persistentVolume "${volumeName}"`);
    const path = pv && context.persistentVolumePath(pv);
    if (!path) throw new VolumeNotReadyError(`persistentVolume "${volumeName}" has no local directory (only hostPath and Tessera-provisioned volumes run here)`);
    await mkdir(path, { recursive: true });
    return { name: volume.name, path, readOnly: volume.persistentVolumeClaim.readOnly ?? false };
  }
  if (volume.secret) {
    const name = volume.secret.secretName ?? '';
    const secret = await getOptional<V1Secret>(client, `/api/v1/namespaces/${namespace}/secrets/${name}`, volume.secret.optional, `secret "${name}"`);
    if (secret) files.push(...selectItems(secretData(secret), volume.secret.items, `secret "${name}"`));
    defaultMode = volume.secret.defaultMode ?? defaultMode;
  } else if (volume.configMap) {
    const name = volume.configMap.name ?? '';
    const configMap = await getOptional<V1ConfigMap>(client, `/api/v1/namespaces/${namespace}/configmaps/${name}`, volume.configMap.optional, `configMap "${name}"`);
    if (configMap) files.push(...selectItems(configMapData(configMap), volume.configMap.items, `configMap "${name}"`));
    defaultMode = volume.configMap.defaultMode ?? defaultMode;
  } else if (volume.projected || volume.downwardAPI) {
    defaultMode = volume.projected?.defaultMode ?? volume.downwardAPI?.defaultMode ?? defaultMode;
    const sources = volume.projected?.sources ?? [{ downwardAPI: volume.downwardAPI }];
    // Sources are read side by side (a guest API server projects seven Secrets), their files kept in order.
    const perSource = await Promise.all(sources.map(async (source) => {
      const sourceFiles: { path: string; content: Buffer; mode?: number }[] = [];
      if (source.secret) {
        const name = source.secret.name ?? '';
        const secret = await getOptional<V1Secret>(client, `/api/v1/namespaces/${namespace}/secrets/${name}`, source.secret.optional, `secret "${name}"`);
        if (secret) sourceFiles.push(...selectItems(secretData(secret), source.secret.items, `secret "${name}"`));
      }
      if (source.configMap) {
        const name = source.configMap.name ?? '';
        const configMap = await getOptional<V1ConfigMap>(client, `/api/v1/namespaces/${namespace}/configmaps/${name}`, source.configMap.optional, `configMap "${name}"`);
        if (configMap) sourceFiles.push(...selectItems(configMapData(configMap), source.configMap.items, `configMap "${name}"`));
      }
      for (const item of source.downwardAPI?.items ?? []) {
        if (item.fieldRef) sourceFiles.push({ path: item.path, content: Buffer.from(fieldRefValue(pod, item.fieldRef.fieldPath)), mode: item.mode });
      }
      if (source.serviceAccountToken) {
        const token = await requestServiceAccountToken(client, pod, source.serviceAccountToken.audience, source.serviceAccountToken.expirationSeconds ?? 3607);
        sourceFiles.push({ path: source.serviceAccountToken.path, content: Buffer.from(token) });
      }
      return sourceFiles;
    }));
    files.push(...perSource.flat());
  } else {
    throw new VolumeNotReadyError(`volume "${volume.name}" has a type the process runtime does not support (supported: emptyDir, hostPath, secret, configMap, projected, downwardAPI, persistentVolumeClaim)`);
  }
  await mkdir(directory, { recursive: true });
  for (const file of files) await writeAtomically(join(directory, file.path), file.content, file.mode ?? defaultMode);
  return { name: volume.name, path: directory, readOnly: true };
}

async function requestServiceAccountToken(client: RestClient, pod: V1Pod, audience: string | undefined, expirationSeconds: number): Promise<string> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const serviceAccount = pod.spec?.serviceAccountName ?? 'default';
  const response = await client.create<{ status?: { token?: string } }>(`/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: {
      audiences: audience ? [audience] : [],
      expirationSeconds,
      boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name, uid: pod.metadata?.uid },
    },
  });
  const token = response.status?.token;
  if (!token) throw new VolumeNotReadyError(`no token issued for service account "${serviceAccount}"`);
  return token;
}
