// The versions of the node stack's own programs (not Kubernetes releases, which come from the
// version catalogue in src/api). The local package builds (src/local/packages/node-builds.ts)
// build exactly these; the package catalogue and the Node operator name them.
export const CONTAINERD_VERSION = '2.4.2';
export const RUNC_VERSION = '1.5.3';
export const CNI_PLUGINS_VERSION = '1.10.0';
/** kubeadm's PauseVersion for both pinned minors (cmd/kubeadm/app/constants). */
export const PAUSE_VERSION = '3.10.2';
