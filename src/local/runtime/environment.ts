// A container's environment and command line, as the kubelet builds them: env and envFrom with
// values from Secrets, ConfigMaps and the downward API, then $(VAR) expansion in command/args.
import type { V1Container, V1Pod, V1Secret, V1ConfigMap } from '@kubernetes/client-node';
import type { RestClient } from '../../controller/rest-client.ts';

export class EnvironmentError extends Error {}

export function fieldRefValue(pod: V1Pod, fieldPath: string): string {
  const metadata = pod.metadata ?? {};
  const annotation = /^metadata\.annotations\['(.+)'\]$/.exec(fieldPath);
  if (annotation) return metadata.annotations?.[annotation[1] ?? ''] ?? '';
  const label = /^metadata\.labels\['(.+)'\]$/.exec(fieldPath);
  if (label) return metadata.labels?.[label[1] ?? ''] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return metadata.name ?? '';
    case 'metadata.namespace':
      return metadata.namespace ?? '';
    case 'metadata.uid':
      return metadata.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
      return pod.status?.podIP ?? '';
    case 'status.podIPs':
      return (pod.status?.podIPs ?? []).map((entry) => entry.ip).join(',');
    case 'status.hostIP':
      return pod.status?.hostIP ?? '';
    case 'status.hostIPs':
      return (pod.status?.hostIPs ?? []).map((entry) => entry.ip).join(',');
    case 'metadata.labels':
      return Object.entries(metadata.labels ?? {}).map(([k, v]) => `${k}="${v}"`).join('\n');
    case 'metadata.annotations':
      return Object.entries(metadata.annotations ?? {}).map(([k, v]) => `${k}="${v}"`).join('\n');
    default:
      throw new EnvironmentError(`fieldRef "${fieldPath}" is not supported by the process runtime`);
  }
}

/** Expands $(NAME) from `values`; $$ escapes; unknown references stay as written (kubelet's rule). */
export function expandReferences(text: string, values: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && name in values ? (values[name] ?? '') : match;
  });
}

type Lookup = { secret: (name: string) => Promise<V1Secret | undefined>; configMap: (name: string) => Promise<V1ConfigMap | undefined> };

export function apiLookup(client: RestClient, namespace: string): Lookup {
  const get = async <T>(path: string) => client.get<T>(path).catch(() => undefined);
  return {
    secret: (name) => get<V1Secret>(`/api/v1/namespaces/${namespace}/secrets/${name}`),
    configMap: (name) => get<V1ConfigMap>(`/api/v1/namespaces/${namespace}/configmaps/${name}`),
  };
}

export async function containerEnvironment(pod: V1Pod, container: V1Container, lookup: Lookup, serviceEnvironment: Record<string, string>): Promise<Record<string, string>> {
  const values: Record<string, string> = { ...serviceEnvironment };
  for (const source of container.envFrom ?? []) {
    const prefix = source.prefix ?? '';
    if (source.configMapRef) {
      const configMap = await lookup.configMap(source.configMapRef.name ?? '');
      if (!configMap && !source.configMapRef.optional) throw new EnvironmentError(`configmap "${source.configMapRef.name}" not found`);
      for (const [key, value] of Object.entries(configMap?.data ?? {})) values[prefix + key] = value;
    }
    if (source.secretRef) {
      const secret = await lookup.secret(source.secretRef.name ?? '');
      if (!secret && !source.secretRef.optional) throw new EnvironmentError(`secret "${source.secretRef.name}" not found`);
      for (const [key, value] of Object.entries(secret?.data ?? {})) values[prefix + key] = Buffer.from(value, 'base64').toString('utf8');
    }
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    if (!from) {
      values[variable.name] = expandReferences(variable.value ?? '', values);
    } else if (from.fieldRef) {
      values[variable.name] = fieldRefValue(pod, from.fieldRef.fieldPath);
    } else if (from.secretKeyRef) {
      const secret = await lookup.secret(from.secretKeyRef.name ?? '');
      const value = secret?.data?.[from.secretKeyRef.key];
      if (value === undefined) {
        if (!from.secretKeyRef.optional) throw new EnvironmentError(`env ${variable.name}: secret "${from.secretKeyRef.name}" has no key "${from.secretKeyRef.key}"`);
      } else values[variable.name] = Buffer.from(value, 'base64').toString('utf8');
    } else if (from.configMapKeyRef) {
      const configMap = await lookup.configMap(from.configMapKeyRef.name ?? '');
      const value = configMap?.data?.[from.configMapKeyRef.key];
      if (value === undefined) {
        if (!from.configMapKeyRef.optional) throw new EnvironmentError(`env ${variable.name}: configmap "${from.configMapKeyRef.name}" has no key "${from.configMapKeyRef.key}"`);
      } else values[variable.name] = value;
    } else if (from.resourceFieldRef) {
      const resource = from.resourceFieldRef.resource;
      const [kind, name] = resource.split('.');
      const quantity = kind === 'limits' ? container.resources?.limits?.[name ?? ''] : container.resources?.requests?.[name ?? ''];
      values[variable.name] = String(quantity ?? '');
    }
  }
  return values;
}
