// What the renderer tests share: a Cluster "shop" in namespace "team-a", rendered to a context,
// and ways to read a rendered container's flags and mounted files. Used by tests only.
import { withDefaults, type Cluster, type ClusterSpec } from '../../api/v1alpha1/cluster.ts';
import { initialEtcdMembers } from './etcd-member.ts';
import { renderContext, type ContainerPart, type DesiredEtcdMember, type RenderContext } from './render-context.ts';

export function shopContext(spec: Partial<ClusterSpec> = {}, etcdMembers?: DesiredEtcdMember[], uid = 'u-1'): RenderContext {
  const full: ClusterSpec = { version: '1.37.2', ...spec };
  const cluster: Cluster = { apiVersion: 'tessera.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'shop', namespace: 'team-a', uid }, spec: full };
  const defaulted = withDefaults(full);
  return renderContext({ cluster, spec: defaulted, certificateChecksum: 'checksum-1', etcdMembers: etcdMembers ?? initialEtcdMembers('shop', defaulted.mode) });
}

export const containerOf = (part: ContainerPart) => part.container;
export function flag(part: ContainerPart, name: string): string[] {
  return (part.container.args ?? []).filter((arg) => arg.startsWith(`--${name}=`)).map((arg) => arg.slice(name.length + 3));
}

/** Every file the container's mounts provide, as `path -> "secret/key"`. */
export function mountedFiles(part: ContainerPart): Map<string, string> {
  const files = new Map<string, string>();
  for (const mount of part.container.volumeMounts ?? []) {
    const volume = part.volumes.find((candidate) => candidate.name === mount.name);
    const sources = volume?.projected?.sources?.map((source) => source.secret) ?? [volume?.secret && { name: volume.secret.secretName, items: volume.secret.items }];
    for (const secret of sources) {
      for (const item of secret?.items ?? []) files.set(`${mount.mountPath}/${item.path}`, `${secret?.name}/${item.key}`);
    }
  }
  return files;
}
