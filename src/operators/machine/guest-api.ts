// The Node operator's view of a guest: its admin kubeconfig (the Secret the Cluster operator
// writes) turned into the few calls the Machine steps make. Clients are cached per Secret
// version so a pass costs no new TLS handshakes.
import type { V1Node, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { Cluster } from '../../api/v1alpha1/cluster.ts';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiError, RestClient, isNotFound, resourcePath } from '../../controller/rest-client.ts';
import { parseKubeconfig } from '../../pki/kubeconfig.ts';
import { randomBytes } from 'node:crypto';
import { bootstrapTokenSecretName, bootstrapTokenString, generateBootstrapToken, parseBootstrapTokenSecret, renderBootstrapTokenSecret } from '../cluster/guest/bootstrap-token.ts';
import type { GuestApi, GuestConnector } from './machine-pass.ts';
import { KUBELET_CLIENT_SIGNER, KUBELET_SERVING_SIGNER, type KubeletCsr } from './kubelet-csr.ts';

/** Label on a bootstrap token Secret in the guest naming the Machine (by UID) it was issued for. */
export const MACHINE_UID_LABEL = 'tessera.dev/machine-uid';
const CSR_PATH = '/apis/certificates.k8s.io/v1/certificatesigningrequests';

type CsrObject = {
  metadata: { name: string };
  spec: { signerName: string; username?: string; groups?: string[]; usages?: string[]; request: string };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
};

export function guestApiFromKubeconfig(text: string): GuestApi {
  const fields = parseKubeconfig(text);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(text);
  const client = new RestClient(kubeConfig);
  const nodePath = (name: string) => `/api/v1/nodes/${encodeURIComponent(name)}`;
  return {
    server: fields.server,
    caPem: fields.caCertPem,
    reachable: async () => {
      try {
        await client.request('GET', '/version', { timeoutMs: 5_000 });
        return true;
      } catch {
        return false;
      }
    },
    getNode: async (name) => {
      try {
        return await client.get<V1Node>(nodePath(name));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    machineBootstrapTokens: async (machineUid) => {
      const list = await client.get<{ items: V1Secret[] }>('/api/v1/namespaces/kube-system/secrets', { labelSelector: `${MACHINE_UID_LABEL}=${machineUid}` });
      return list.items.flatMap((secret) => {
        try {
          const token = parseBootstrapTokenSecret(secret as never);
          return [{ id: token.id, token: bootstrapTokenString(token), expiresAt: token.expiresAt }];
        } catch {
          return [];
        }
      });
    },
    issueMachineBootstrapToken: async (machineUid, description, now, expiresAt) => {
      const token = generateBootstrapToken({ random: (size) => randomBytes(size), now, ttlMs: expiresAt.getTime() - now.getTime() });
      const secret = renderBootstrapTokenSecret(token) as V1Secret;
      secret.metadata = { ...secret.metadata, labels: { ...secret.metadata?.labels, [MACHINE_UID_LABEL]: machineUid } };
      secret.data = { ...secret.data, description: Buffer.from(description).toString('base64') };
      await client.create('/api/v1/namespaces/kube-system/secrets', secret);
      return { id: token.id, token: bootstrapTokenString(token), expiresAt: token.expiresAt };
    },
    deleteBootstrapToken: async (id) => {
      try {
        await client.delete(`/api/v1/namespaces/kube-system/secrets/${bootstrapTokenSecretName(id)}`);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    },
    pendingKubeletCsrs: async () => {
      const list = await client.get<{ items: CsrObject[] }>(CSR_PATH);
      return list.items
        .filter((csr) => (csr.spec.signerName === KUBELET_CLIENT_SIGNER || csr.spec.signerName === KUBELET_SERVING_SIGNER) && !csr.status?.conditions?.some((condition) => condition.type === 'Approved' || condition.type === 'Denied'))
        .map((csr): KubeletCsr => ({ name: csr.metadata.name, signerName: csr.spec.signerName, username: csr.spec.username ?? '', groups: csr.spec.groups ?? [], usages: csr.spec.usages ?? [], requestPem: Buffer.from(csr.spec.request, 'base64').toString('utf8') }));
    },
    decideCsr: async (name, verdict) => {
      const path = `${CSR_PATH}/${encodeURIComponent(name)}`;
      const csr = await client.get<CsrObject>(path);
      const condition = { type: verdict.verdict === 'approve' ? 'Approved' : 'Denied', status: 'True', reason: verdict.verdict === 'approve' ? 'TesseraMachineApproved' : 'TesseraMachineDenied', message: verdict.message.slice(0, 1000) };
      await client.request('PUT', `${path}/approval`, { body: { ...csr, status: { ...csr.status, conditions: [...(csr.status?.conditions ?? []), condition] } } });
    },
    patchNode: async (name, patch) => {
      const metadata = { ...(patch.labels ? { labels: patch.labels } : {}), ...(patch.annotations ? { annotations: patch.annotations } : {}) };
      const spec = { ...(patch.taints ? { taints: patch.taints } : {}), ...(patch.unschedulable !== undefined ? { unschedulable: patch.unschedulable } : {}) };
      await client.patch(nodePath(name), { ...(Object.keys(metadata).length > 0 ? { metadata } : {}), ...(Object.keys(spec).length > 0 ? { spec } : {}) }, 'merge');
    },
    podsOnNode: async (name) => (await client.get<{ items: V1Pod[] }>('/api/v1/pods', { fieldSelector: `spec.nodeName=${name}` })).items,
    evictPod: async (namespace, name) => {
      try {
        await client.create(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/eviction`, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } });
        return 'evicted';
      } catch (error) {
        if (error instanceof ApiError && error.status === 429) return 'blocked';
        if (isNotFound(error)) return 'evicted';
        throw error;
      }
    },
    applyObjects: async (objects) => {
      for (const object of objects as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }[]) {
        const [group, version] = object.apiVersion.includes('/') ? (object.apiVersion.split('/') as [string, string]) : [undefined, object.apiVersion];
        const lower = object.kind.toLowerCase();
        const path = resourcePath({ group, version, resource: lower.endsWith('s') ? lower : `${lower}s`, namespace: object.metadata.namespace, name: object.metadata.name });
        await client.apply(path, object, 'tessera-machine-operator', true);
      }
    },
    deleteNode: async (name) => {
      try {
        await client.delete(nodePath(name));
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    },
  };
}

/** A Secret's data decoded, and its resourceVersion; undefined when it does not exist. */
export function secretReader(client: Pick<RestClient, 'get'>): (namespace: string, name: string) => Promise<{ data: Record<string, string>; resourceVersion: string } | undefined> {
  return async (namespace, name) => {
    try {
      const secret = await client.get<V1Secret>(resourcePath({ version: 'v1', resource: 'secrets', namespace, name }));
      return { data: Object.fromEntries(Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')])), resourceVersion: secret.metadata?.resourceVersion ?? '' };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };
}

/** Guest access from the admin kubeconfig Secret named in the Cluster's status. */
export function guestConnector(readSecret: (namespace: string, name: string) => Promise<{ data: Record<string, string>; resourceVersion: string } | undefined>): GuestConnector {
  const cache = new Map<string, { version: string; api: GuestApi }>();
  return async (cluster: Cluster) => {
    const namespace = cluster.metadata.namespace ?? 'default';
    const secretName = cluster.status?.adminKubeconfigSecret;
    if (!secretName) return undefined;
    const secret = await readSecret(namespace, secretName);
    const text = secret?.data['kubeconfig'];
    if (!secret || !text) return undefined;
    const key = `${namespace}/${cluster.metadata.name}`;
    const cached = cache.get(key);
    if (cached && cached.version === secret.resourceVersion) return cached.api;
    const api = guestApiFromKubeconfig(text);
    cache.set(key, { version: secret.resourceVersion, api });
    return api;
  };
}
