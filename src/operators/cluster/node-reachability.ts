// How a guest's API server reaches its nodes (logs, exec, port-forward, webhooks): directly, or
// through the egress proxy of the cell it runs in. Whether a cell has a proxy is a fact about the
// cell (the operator's configuration), so a Cluster that leaves the field unset gets the cell's
// way, and the same Cluster YAML works on the embedded default and on a real cell.
import type { DefaultedClusterSpec } from '../../api/v1alpha1/cluster.ts';

export const EGRESS_SELECTOR_FLAG = 'egress-selector-config-file';
/** Where the API server container finds the cell's egress selector configuration. */
export const EGRESS_SELECTOR_MOUNT_PATH = '/etc/kubernetes/egress-selector/egress-selector.yaml';

export type NodeReachabilityDecision = {
  mode: 'Direct' | 'EgressProxy';
  /** The cell's egress selector file to mount; absent when Direct or when extraArgs names its own. */
  egressSelectorConfigFile?: string;
  /** Why the spec's choice cannot be honoured here, for the SpecValid condition. */
  problem?: string;
  message: string;
};

/**
 * `cellEgressSelectorConfigFile`: the egress selector configuration this cell's API server pods
 * can mount (a path on the cell's nodes), or undefined when the cell has no egress proxy.
 */
export function decideNodeReachability(spec: DefaultedClusterSpec, cellEgressSelectorConfigFile: string | undefined): NodeReachabilityDecision {
  const byHand = spec.controlPlane.apiServer.extraArgs[EGRESS_SELECTOR_FLAG];
  if (byHand !== undefined) return { mode: 'EgressProxy', message: `the API server uses the egress selector named in spec.controlPlane.apiServer.extraArgs (${byHand})` };
  const wanted = spec.network.nodeReachability;
  if (wanted === 'Direct' || (wanted === undefined && cellEgressSelectorConfigFile === undefined)) {
    return { mode: 'Direct', message: `the API server dials node addresses directly${wanted === undefined ? ' (this cell has no egress proxy)' : ''}` };
  }
  if (cellEgressSelectorConfigFile === undefined) {
    return {
      mode: 'Direct',
      problem: 'spec.network.nodeReachability is EgressProxy but this cell has no egress proxy configured (operator flag --egress-selector-config-file): the API server dials nodes directly until it has one; set Direct or place the Cluster in a cell with a proxy',
      message: 'the API server dials node addresses directly (the cell has no egress proxy)',
    };
  }
  return { mode: 'EgressProxy', egressSelectorConfigFile: cellEgressSelectorConfigFile, message: `the API server reaches nodes through the cell's egress proxy (${cellEgressSelectorConfigFile})` };
}
