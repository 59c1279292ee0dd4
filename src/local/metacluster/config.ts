// The local meta cluster's settings, chosen on the first `tessera up` and kept in
// $TESSERA_HOME/config.json so that later runs resume the same cluster on the same addresses.
import { createServer } from 'node:net';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export type MetaNodeConfig = { name: string; zone: string; address: string; podRange: string };

export type MetaClusterConfig = {
  kubernetesVersion: string;
  clusterName: string;
  apiServerPort: number;
  etcdClientPort: number;
  etcdPeerPort: number;
  etcdMetricsPort: number;
  controllerManagerPort: number;
  schedulerPort: number;
  /** Loopback, so that Service IPs are reachable through the runtime's service proxy. */
  serviceCIDR: string;
  /** The cluster DNS server's address (port 53), inside the service range like kube-dns. */
  dnsAddress: string;
  clusterDomain: string;
  nodes: MetaNodeConfig[];
  /** Capacity each simulated node advertises; the machine is shared, so this is an overcommit. */
  nodeCapacity: { cpu: string; memory: string; pods: string };
};

async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/**
 * `networkIndex` picks a second octet block so that two meta clusters (two TESSERA_HOMEs, as in
 * tests) never share loopback addresses: nodes at 127.<b>.0.<n>, pods of node n in 127.<b+n>.0.0/16,
 * services in 127.<b+8>.0.0/16.
 */
export async function defaultConfig(kubernetesVersion: string, networkIndex = 0): Promise<MetaClusterConfig> {
  const base = 100 + networkIndex * 10;
  const preferred = networkIndex === 0 ? 6443 : 0;
  const apiServerPort = preferred && (await portIsFree(preferred)) ? preferred : await freePort();
  const zones = ['zone-a', 'zone-b', 'zone-c'];
  return {
    kubernetesVersion,
    clusterName: 'tessera-meta',
    apiServerPort,
    etcdClientPort: await freePort(),
    etcdPeerPort: await freePort(),
    etcdMetricsPort: await freePort(),
    controllerManagerPort: await freePort(),
    schedulerPort: await freePort(),
    serviceCIDR: `127.${base + 8}.0.0/16`,
    dnsAddress: `127.${base + 8}.0.10`,
    clusterDomain: 'cluster.local',
    nodes: zones.map((zone, index) => ({
      name: `meta-${zone.slice(-1)}`,
      zone,
      address: `127.${base}.0.${index + 1}`,
      podRange: `127.${base + index + 1}.0.0/16`,
    })),
    nodeCapacity: { cpu: '32', memory: '64Gi', pods: '250' },
  };
}

export async function loadOrCreateConfig(path: string, kubernetesVersion: string, networkIndex = 0): Promise<{ config: MetaClusterConfig; created: boolean }> {
  try {
    return { config: JSON.parse(await readFile(path, 'utf8')) as MetaClusterConfig, created: false };
  } catch {
    const config = await defaultConfig(kubernetesVersion, networkIndex);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `${JSON.stringify(config, null, 2)}\n`);
    return { config, created: true };
  }
}

export function firstServiceAddress(serviceCIDR: string): string {
  const [network] = serviceCIDR.split('/');
  const octets = (network ?? '').split('.').map(Number);
  octets[3] = (octets[3] ?? 0) + 1;
  return octets.join('.');
}
