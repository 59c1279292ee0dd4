// What the guest renderers read from a Cluster. src/api/v1alpha1/cluster.ts owns the real types
// (docs/cluster-api-contract.md); this is the structural subset of its DefaultedClusterSpec, with
// the contract's field names, so a DefaultedClusterSpec can be passed as it is.

export type GuestProxyMode = 'iptables' | 'ipvs';

export type GuestAddonSpec = {
  name: string;
  version?: string;
  enabled?: boolean;
};

export type GuestClusterSpec = {
  /** Kubernetes version of the guest, "1.37.2" (no leading v). */
  version: string;
  network: {
    podCIDR: string;
    serviceCIDR: string;
    proxyMode: GuestProxyMode;
    clusterDomain: string;
  };
  /** Entries override the defaults by name; names not listed keep their default. */
  addons?: readonly GuestAddonSpec[];
};

/** How machines and in-guest components reach the guest's API server. */
export type GuestEndpoint = {
  /** https URL of the guest API server as nodes see it, e.g. the Cluster's status.endpoint. */
  server: string;
  /** PEM of the guest's cluster CA, which signed the API server's serving certificate. */
  caCertPem: string;
};
