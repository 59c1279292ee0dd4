// The choices that cannot be changed once the cluster exists (seed 000: cluster type, system and
// data disk types, pod and service CIDRs, the kube-proxy mode; GKE and Gardener add the per-node
// pod block and max pods). The report lists them with the value the cluster would get, so people
// know exactly what they are committing to.
import type { ClusterPlan } from './cluster-plan.ts';
import { formatCidr } from './cidr.ts';
import type { NetworkCheck } from './network-rules.ts';

export interface ImmutableField {
  field: string;
  value: string | number | null;
  /** True when the value is a default the planner filled in, not one the input chose. */
  defaulted: boolean;
  why: string;
}

export function listImmutableFields(plan: ClusterPlan, network: NetworkCheck): ImmutableField[] {
  const net = plan.paths.network;
  const spec = plan.cluster.network;
  const fields: ImmutableField[] = [];
  if (plan.sourceKind === 'ClusterPlan') {
    fields.push({
      field: `${plan.paths.cluster}.type`,
      value: plan.cluster.type,
      defaulted: !plan.cluster.typeGiven,
      why: 'switching between Managed, Dedicated and Serverless means a new cluster',
    });
  }
  if (plan.cluster.type !== 'Serverless') {
    fields.push({
      field: `${net}.podCIDR`,
      value: network.podCIDR ? formatCidr(network.podCIDR) : (spec.podCIDR ?? null),
      defaulted: false,
      why: 'pod routes and every node\'s pod block are cut from it',
    });
  }
  fields.push({
    field: `${net}.serviceCIDR`,
    value: network.serviceCIDR ? formatCidr(network.serviceCIDR) : (spec.serviceCIDR ?? null),
    defaulted: false,
    why: 'existing Services keep their addresses from it, and the apiserver certificate names its first address',
  });
  if (plan.cluster.type !== 'Serverless') {
    const byAddresses = spec.podAddressesPerNode !== undefined && spec.nodeCIDRMaskSize === undefined;
    fields.push({
      field: byAddresses ? `${net}.podAddressesPerNode` : `${net}.nodeCIDRMaskSize`,
      value: byAddresses ? (spec.podAddressesPerNode ?? null) : network.nodeCIDRMaskSize,
      defaulted: spec.podAddressesPerNode === undefined && spec.nodeCIDRMaskSize === undefined,
      why: 'it fixes the maximum node count and the pods per node',
    });
    fields.push({
      field: `${net}.maxPodsPerNode`,
      value: network.maxPodsPerNode,
      defaulted: spec.maxPodsPerNode === undefined,
      why: 'nodes register with it; changing it means replacing every node',
    });
  }
  fields.push({
    field: `${net}.proxyMode`,
    value: spec.proxyMode ?? 'iptables',
    defaulted: spec.proxyMode === undefined,
    why: 'kube-proxy\'s rules on every node are built for one mode',
  });
  if (plan.sourceKind === 'ClusterPlan' && plan.cluster.type !== 'Serverless') {
    fields.push({
      field: 'spec.nodes.systemDisk.type',
      value: plan.nodes?.systemDisk?.type ?? null,
      defaulted: false,
      why: 'a node\'s disk type is chosen when the node is created',
    });
    fields.push({
      field: 'spec.nodes.dataDisk.type',
      value: plan.nodes?.dataDisk?.type ?? null,
      defaulted: false,
      why: 'the container runtime\'s storage (images, emptyDir) lives on it',
    });
  }
  return fields;
}
