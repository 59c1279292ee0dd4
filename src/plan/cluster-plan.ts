// The planner's input after schema validation. Every optional field is absent when the document
// left it out or gave a value of the wrong shape (the schema reports that as a finding), so the
// rules run on whatever is usable and a plan with one typo still gets the rest of its report.
export type ClusterType = 'Managed' | 'Dedicated' | 'Serverless';
export const clusterTypes: readonly ClusterType[] = ['Managed', 'Dedicated', 'Serverless'];

export type ProxyMode = 'iptables' | 'ipvs';
export const proxyModes: readonly ProxyMode[] = ['iptables', 'ipvs'];

export interface ClusterNetworkSpec {
  podCIDR?: string;
  serviceCIDR?: string;
  /** Size of each node's pod block; a power of two. The alternative to nodeCIDRMaskSize. */
  podAddressesPerNode?: number;
  nodeCIDRMaskSize?: number;
  /** The kubelet's max-pods. */
  maxPodsPerNode?: number;
  proxyMode?: ProxyMode;
}

export interface ZoneSpec {
  name: string;
  vswitchCIDR?: string;
}

export interface OtherClusterSpec {
  name: string;
  podCIDR?: string;
  serviceCIDR?: string;
}

export interface VpcSpec {
  cidr?: string;
  zones: ZoneSpec[];
  otherClusters: OtherClusterSpec[];
}

export interface InstanceSpec {
  cpu: number;
  memoryGiB: number;
}

export interface DiskSpec {
  type?: string;
  sizeGiB?: number;
}

export interface NodesSpec {
  instance?: InstanceSpec;
  count?: number;
  systemDisk?: DiskSpec;
  dataDisk?: DiskSpec;
}

export interface WorkloadSpec {
  name: string;
  /** Ignored when perNode is set: a per-node workload (a DaemonSet) runs one replica on every node. */
  replicas: number;
  perNode: boolean;
  /** Cores and bytes per replica, parsed from Kubernetes quantities. */
  cpu: number;
  memoryBytes: number;
}

/** Where each part of the plan sits in the input, so findings name the user's own field paths. */
export interface PlanFieldPaths {
  cluster: string;
  network: string;
}

export interface ClusterPlan {
  name: string;
  /** A ClusterPlan document, or a Cluster object whose spec stands in for spec.cluster. */
  sourceKind: 'ClusterPlan' | 'Cluster';
  paths: PlanFieldPaths;
  cluster: {
    type: ClusterType;
    /** False when the type was defaulted rather than chosen. */
    typeGiven: boolean;
    version?: string;
    /** Control-plane replicas when the source fixes them (a Cluster's Standard or Minimal mode). */
    masterReplicas?: number;
    network: ClusterNetworkSpec;
  };
  vpc?: VpcSpec;
  nodes?: NodesSpec;
  masters?: { instance?: InstanceSpec };
  workloads: WorkloadSpec[];
}
