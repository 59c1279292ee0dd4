// The Node operator's view of a guest: its admin kubeconfig (the Secret the Cluster operator
// writes) turned into the few calls the Machine steps make. Clients are cached per Secret
// version so a pass costs no new TLS handshakes.
import type { V1Node, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { Cluster } from '../../api/v1alpha1/cluster.ts';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiError, RestClient, isNotFound, resourcePath } from '../../controller/rest-client.ts';
import { parseKubeconfig } from '../../pki/kubeconfig.ts';
import { BOOTSTRAP_TOKEN_SECRET_TYPE, newestValidBootstrapToken, parseBootstrapTokenSecret, bootstrapTokenString } from '../cluster/guest/bootstrap-token.ts';
import type { GuestApi, GuestConnector } from './machine-pass.ts';

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
    bootstrapToken: async (now) => {
      const list = await client.get<{ items: V1Secret[] }>('/api/v1/namespaces/kube-system/secrets', { fieldSelector: `type=${BOOTSTRAP_TOKEN_SECRET_TYPE}` });
      const tokens = list.items.flatMap((secret) => {
        try {
          return [parseBootstrapTokenSecret(secret as never)];
        } catch {
          return [];
        }
      });
      // At least a few minutes of life left, so the kubelet's bootstrap does not race the expiry.
      const token = newestValidBootstrapToken(tokens, new Date(now.getTime() + 5 * 60_000));
      return token ? bootstrapTokenString(token) : undefined;
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
