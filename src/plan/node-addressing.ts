// How the pod CIDR is cut into per-node blocks, and what that allows: the number of nodes the
// cluster can ever have and the pods each node can run. Both are fixed at creation.
//
// Sources: kube-controller-manager's --node-cidr-mask-size (default 24 for IPv4, 64 for IPv6);
// kubeadm's PodSubnetNodeMaskMaxDiff = 16 (the node-CIDR allocator's bitmap limit); Kubespray's
// kubelet_max_pods <= 2^(32 - node prefix) - 2; the Kubernetes scalability thresholds
// (110 pods per node); GKE's per-node block of twice max-pods.
import { addressBits, formatCidr, type Cidr } from './cidr.ts';
import type { Finding } from './finding.ts';

export const defaultNodeMask = { IPv4: 24, IPv6: 64 } as const;
export const nodeMaskMaxDifference = 16;
export const kubeletDefaultMaxPods = 110;
/** Addresses of a node's block that pods cannot use: the network address and the bridge/gateway. */
export const perNodeUnusableAddresses = 2;

export interface NodeAddressingInput {
  podCIDR: Cidr | null;
  podAddressesPerNode?: number;
  nodeCIDRMaskSize?: number;
  maxPodsPerNode?: number;
  /** Dotted path of the network section, e.g. `spec.cluster.network`. */
  networkPath: string;
}

export interface NodeAddressing {
  nodeCIDRMaskSize: number | null;
  podAddressesPerNode: number | null;
  /** 2^(nodeMask - podPrefix): how many node blocks the pod CIDR holds. */
  maxNodes: number | null;
  /** The kubelet max-pods the cluster runs with (given, or the default that fits the block). */
  maxPodsPerNode: number | null;
  findings: Finding[];
}

function isPowerOfTwo(value: number): boolean {
  if (!Number.isSafeInteger(value) || value < 1) return false;
  const big = BigInt(value);
  return (big & (big - 1n)) === 0n;
}

/** The longest mask whose block holds `addresses` addresses. */
function maskForAddresses(bits: number, addresses: number): number {
  return Math.max(0, bits - Math.ceil(Math.log2(Math.max(1, addresses))));
}

export function planNodeAddressing(input: NodeAddressingInput): NodeAddressing {
  const findings: Finding[] = [];
  const net = input.networkPath;
  const pod = input.podCIDR;
  const family = pod?.family ?? 'IPv4';
  const bits = addressBits(family);
  const none: NodeAddressing = { nodeCIDRMaskSize: null, podAddressesPerNode: null, maxNodes: null, maxPodsPerNode: null, findings };

  let maskFromAddresses: number | undefined;
  if (input.podAddressesPerNode !== undefined) {
    const wanted = input.podAddressesPerNode;
    if (BigInt(wanted) > 2n ** BigInt(bits - (pod?.prefixLength ?? 0))) {
      findings.push({
        severity: 'error',
        field: `${net}.podAddressesPerNode`,
        message: `${wanted} addresses per node is more than the whole pod CIDR${pod ? ` ${formatCidr(pod)}` : ''} holds`,
        fix: `use a power of two of at most ${2n ** BigInt(bits - (pod?.prefixLength ?? 0))}, or a larger pod CIDR`,
      });
    } else if (!isPowerOfTwo(wanted)) {
      const mask = maskForAddresses(bits, wanted);
      findings.push({
        severity: 'error',
        field: `${net}.podAddressesPerNode`,
        message: `${wanted} addresses per node is not a power of two: each node's pod block is a CIDR`,
        fix: `use ${2n ** BigInt(bits - mask)} (a /${mask} block per node)`,
      });
    } else {
      maskFromAddresses = bits - Math.log2(wanted);
    }
  }

  let mask: number | undefined;
  let maskField = `${net}.nodeCIDRMaskSize`;
  if (input.nodeCIDRMaskSize !== undefined) {
    if (input.nodeCIDRMaskSize > bits) {
      findings.push({
        severity: 'error',
        field: maskField,
        message: `nodeCIDRMaskSize /${input.nodeCIDRMaskSize} is longer than an ${family} address (${bits} bits)`,
        fix: `use a mask from /${pod?.prefixLength ?? 0} to /${bits - 2}; the default is /${defaultNodeMask[family]}`,
      });
      return none;
    }
    mask = input.nodeCIDRMaskSize;
    if (maskFromAddresses !== undefined && maskFromAddresses !== mask) {
      findings.push({
        severity: 'error',
        field: maskField,
        message: `nodeCIDRMaskSize /${mask} contradicts podAddressesPerNode ${input.podAddressesPerNode} (a /${maskFromAddresses} block)`,
        fix: 'give only one of podAddressesPerNode and nodeCIDRMaskSize',
      });
    }
  } else if (maskFromAddresses !== undefined) {
    mask = maskFromAddresses;
    maskField = `${net}.podAddressesPerNode`;
  } else if (input.podAddressesPerNode === undefined) {
    mask = defaultNodeMask[family];
    // Without a pod CIDR the missing range is the finding that matters; the default is noise.
    if (pod !== null) {
      findings.push({
        severity: 'info',
        field: maskField,
        message: `no per-node pod block given: kube-controller-manager's default /${mask} applies (${2n ** BigInt(bits - mask)} addresses per node)`,
        fix: `set ${net}.podAddressesPerNode or ${net}.nodeCIDRMaskSize to choose it explicitly; it cannot be changed later`,
      });
    }
  }
  if (mask === undefined || pod === null) return { ...none, nodeCIDRMaskSize: mask ?? null };

  const blockSize = 2n ** BigInt(bits - mask);
  const result: NodeAddressing = {
    nodeCIDRMaskSize: mask,
    podAddressesPerNode: Number(blockSize),
    maxNodes: mask >= pod.prefixLength ? 2 ** (mask - pod.prefixLength) : 0,
    maxPodsPerNode: null,
    findings,
  };

  if (mask < pod.prefixLength) {
    findings.push({
      severity: 'error',
      field: maskField,
      message: `the per-node block /${mask} is larger than the whole pod CIDR ${formatCidr(pod)}, so no node can get one`,
      fix: `use a per-node mask of /${pod.prefixLength} or longer (e.g. /${Math.min(bits - 2, pod.prefixLength + 8)}), or a pod CIDR of /${mask} or shorter`,
    });
  } else if (mask - pod.prefixLength > nodeMaskMaxDifference) {
    findings.push({
      severity: 'error',
      field: maskField,
      message:
        `${formatCidr(pod)} cut into /${mask} blocks gives 2^${mask - pod.prefixLength} node blocks; ` +
        `Kubernetes allows at most ${nodeMaskMaxDifference} bits between pod prefix and node mask (2^16 = 65536 nodes)`,
      fix: `use a pod CIDR of /${mask - nodeMaskMaxDifference} or longer, or a per-node mask of /${pod.prefixLength + nodeMaskMaxDifference} or shorter`,
    });
  }

  const usable = blockSize - BigInt(perNodeUnusableAddresses);
  if (usable < 1n) {
    findings.push({
      severity: 'error',
      field: maskField,
      message: `a /${mask} block per node leaves no address for pods (${perNodeUnusableAddresses} of its addresses are the network and the gateway)`,
      fix: `use a per-node mask of /${bits - 2} or shorter; /${defaultNodeMask[family]} is the default`,
    });
    return result;
  }
  const usableNumber = usable > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(usable);

  if (input.maxPodsPerNode !== undefined) {
    const maxPods = input.maxPodsPerNode;
    result.maxPodsPerNode = maxPods;
    if (BigInt(maxPods) > usable) {
      const fitting = maskForAddresses(bits, maxPods + perNodeUnusableAddresses);
      findings.push({
        severity: 'error',
        field: `${net}.maxPodsPerNode`,
        message: `${maxPods} pods per node do not fit a /${mask} block: it has ${usable} usable addresses (${blockSize} minus the network address and the gateway)`,
        fix: `set maxPodsPerNode to at most ${usable}, or use a /${fitting} block per node (${2 ** (bits - fitting)} addresses)`,
      });
    } else if (maxPods > kubeletDefaultMaxPods) {
      findings.push({
        severity: 'warning',
        field: `${net}.maxPodsPerNode`,
        message: `${maxPods} pods per node is beyond the ${kubeletDefaultMaxPods} that upstream Kubernetes tests and supports per node`,
        fix: `keep maxPodsPerNode at ${kubeletDefaultMaxPods} or below unless this density has been load-tested on the chosen instance type`,
      });
    }
  } else {
    result.maxPodsPerNode = Math.min(kubeletDefaultMaxPods, usableNumber);
    if (usableNumber < kubeletDefaultMaxPods) {
      findings.push({
        severity: 'info',
        field: `${net}.maxPodsPerNode`,
        message: `a /${mask} block has ${usableNumber} usable addresses, so the kubelet's max-pods is lowered from ${kubeletDefaultMaxPods} to ${usableNumber}`,
        fix: `set ${net}.maxPodsPerNode explicitly, or use a /${maskForAddresses(bits, 2 * kubeletDefaultMaxPods)} block per node for the default ${kubeletDefaultMaxPods}`,
      });
    }
  }

  const maxPods = result.maxPodsPerNode;
  if (BigInt(maxPods) * 2n > blockSize && BigInt(maxPods) <= usable) {
    findings.push({
      severity: 'info',
      field: `${net}.maxPodsPerNode`,
      message: `${maxPods} pods per node use more than half of each /${mask} block, so addresses of deleted pods are reused quickly (GKE sizes blocks at twice max-pods for this reason)`,
      fix: `acceptable for most clusters; for address headroom use a /${maskForAddresses(bits, 2 * maxPods)} block per node or fewer pods per node`,
    });
  }
  return result;
}
