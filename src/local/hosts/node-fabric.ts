// What the Node operator needs from the embedded default that a datacenter provides by itself:
// package archives from the local build cache, and the local fabric (src/local/fabric): the guest
// API relayed into the hosts, the host's pod subnet routed by the VPC switch, and the guest's
// `kubernetes` endpoints at the relay address. Passed to the operator by tessera-operators.ts.
import type { ArtifactSource, NodeFabric } from '../../operators/machine/machine-pass.ts';
import { resolveHome } from '../home.ts';
import { renderKubernetesEndpoints } from '../fabric/guest-link.ts';
import { podSubnetOf } from '../fabric/vpc-plan.ts';
import { ensurePackage, readArtifact } from '../packages/package-artifacts.ts';
import { listHostRecords } from './host-layout.ts';
import { linkGuestToHosts, routePodSubnetToHost } from './local-hosts.ts';

export function localArtifacts(env: NodeJS.ProcessEnv = process.env): ArtifactSource {
  return async (definition) => (await readArtifact(env, definition.name, definition.version)) ?? ensurePackage(definition);
}

export function localNodeFabric(tesseraHome: string = resolveHome().root): NodeFabric {
  // One at a time: linking starts the egress proxy and relays, which two Machines joining at
  // once must not both start.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const result = queue.then(work, work);
    queue = result.catch(() => undefined);
    return result;
  };
  return {
    prepareHost: ({ machine, server, podCIDR, nodeMaskSize }) => serially(async () => {
      const record = (await listHostRecords(tesseraHome)).find((host) => host.sshAddress === machine.spec.address && host.sshPort === (machine.spec.port ?? 22));
      if (!record) throw new Error(`spec.address ${machine.spec.address}:${machine.spec.port ?? 22} is not a local host (tessera hosts list): the local fabric only joins hosts it made`);
      await linkGuestToHosts(tesseraHome, server);
      const podSubnet = podSubnetOf(podCIDR, nodeMaskSize, record.index);
      await routePodSubnetToHost(tesseraHome, record.name, podSubnet);
      return { podSubnet, guestObjects: renderKubernetesEndpoints() };
    }),
  };
}
