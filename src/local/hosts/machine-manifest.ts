// What `tessera hosts create --cluster C -o yaml` prints per host: the Secret with the SSH
// private key and the Machine (the Node operator's kind) that names the host, its zone and its
// real host key, so that applying them is the whole flow. Pure: records in, objects out.
import type { HostRecord } from './host-layout.ts';

export type MachineManifestOptions = {
  /** Omitted: the Machine names no Cluster yet (set spec.clusterName before applying). */
  clusterName?: string;
  /** Omitted: kubectl applies into its current namespace. */
  namespace?: string;
};

type ObjectMeta = { name: string; namespace?: string; labels: Record<string, string> };

export type SshKeySecret = {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ObjectMeta;
  type: 'kubernetes.io/ssh-auth';
  stringData: { 'ssh-privatekey': string };
};

export type MachineObject = {
  apiVersion: 'tessera.dev/v1alpha1';
  kind: 'Machine';
  metadata: ObjectMeta;
  spec: {
    clusterName?: string;
    address: string;
    port: number;
    hostname: string;
    zone: string;
    ssh: { user: string; privateKeySecretRef: { name: string }; hostKey: string };
  };
};

export function sshKeySecretName(hostName: string): string {
  return `${hostName}-ssh-key`;
}

function metadata(name: string, options: MachineManifestOptions): ObjectMeta {
  return {
    name,
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    labels: { ...(options.clusterName === undefined ? {} : { 'tessera.dev/cluster': options.clusterName }), 'tessera.dev/local-host': 'true' },
  };
}

export function renderMachineManifests(host: HostRecord, privateKey: string, options: MachineManifestOptions): [SshKeySecret, MachineObject] {
  const secretName = sshKeySecretName(host.name);
  return [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: metadata(secretName, options),
      type: 'kubernetes.io/ssh-auth',
      stringData: { 'ssh-privatekey': privateKey.endsWith('\n') ? privateKey : `${privateKey}\n` },
    },
    {
      apiVersion: 'tessera.dev/v1alpha1',
      kind: 'Machine',
      metadata: metadata(host.name, options),
      spec: {
        ...(options.clusterName === undefined ? {} : { clusterName: options.clusterName }),
        address: host.sshAddress,
        port: host.sshPort,
        hostname: host.name,
        zone: host.zone,
        ssh: { user: 'root', privateKeySecretRef: { name: secretName }, hostKey: host.hostKey },
      },
    },
  ];
}
