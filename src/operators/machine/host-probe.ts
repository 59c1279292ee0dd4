// One SSH command that reads what the host has: its name and address, its cgroup, the packages
// Tessera recorded under /var/lib/tessera/packages, whether the services run and the kubelet
// answers. The operator converges from this, never from what it believes it did before.
import { CGROUP_PROBE, CRI_SERVING, KUBELET_HEALTHY } from '../../node/join-steps.ts';
import { CONTAINERD_SOCKET, HOST_STATE_DIR, INSTALL_ROOT } from '../../node/catalogue.ts';
import type { InstalledPackage } from '../../api/v1alpha1/machine.ts';

export type ServiceState = 'run' | 'down' | 'missing';

export type HostProbe = {
  hostname: string;
  /** The source address of the host's default route: what the guest sees it as. */
  nodeIP: string;
  cgroup: string;
  packages: InstalledPackage[];
  services: { containerd: ServiceState; kubelet: ServiceState };
  kubeletHealthy: boolean;
  /** The kubelet holds a client certificate (it has joined once). */
  kubeletJoined: boolean;
  /** The kubelet holds a serving certificate issued through a CSR (logs and exec can verify it). */
  kubeletServing: boolean;
  /** containerd's CRI plugin loaded (what the kubelet talks to). */
  criServing: boolean;
  /** Image references in containerd's k8s.io namespace (empty while containerd is down). */
  images: string[];
};

export const PROBE_SCRIPT = [
  'echo "hostname=$(hostname)"',
  `echo "cgroup=$(${CGROUP_PROBE})"`,
  `echo "nodeip=$(ip -4 -o route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \\([0-9.]*\\).*/\\1/p')"`,
  `for f in ${HOST_STATE_DIR}/packages/*.json; do [ -f "$f" ] && echo "package=$(cat "$f")"; done`,
  'for s in containerd kubelet; do if [ -L /etc/service/$s ]; then echo "service.$s=$(sv status /etc/service/$s 2>/dev/null | cut -d: -f1)"; else echo "service.$s=missing"; fi; done',
  // A busy kubelet may miss one answer: only three misses in a row count as not healthy.
  `ok=no; if [ -L /etc/service/kubelet ]; then for i in 1 2 3; do if timeout 3 sh -c '${KUBELET_HEALTHY}' >/dev/null 2>&1; then ok=yes; break; fi; sleep 1; done; fi; echo kubelet.healthy=$ok`,
  'if [ -f /etc/kubernetes/kubelet.conf ]; then echo kubelet.joined=yes; else echo kubelet.joined=no; fi',
  'if [ -e /var/lib/kubelet/pki/kubelet-server-current.pem ]; then echo kubelet.serving=yes; else echo kubelet.serving=no; fi',
  `if ${CRI_SERVING.replace('{ctr}', `${INSTALL_ROOT}/containerd/current/bin/ctr --address ${CONTAINERD_SOCKET}`)}; then echo cri=ok; else echo cri=no; fi`,
  `${INSTALL_ROOT}/containerd/current/bin/ctr --address ${CONTAINERD_SOCKET} -n k8s.io images ls -q 2>/dev/null | sed 's/^/image=/'`,
  'true',
].join('\n');

export function parseProbe(output: string): HostProbe {
  const probe: HostProbe = { hostname: '', nodeIP: '', cgroup: '', packages: [], services: { containerd: 'missing', kubelet: 'missing' }, kubeletHealthy: false, kubeletJoined: false, kubeletServing: false, criServing: false, images: [] };
  const service = (value: string): ServiceState => (value === 'run' ? 'run' : value === 'missing' ? 'missing' : 'down');
  for (const line of output.split('\n')) {
    const at = line.indexOf('=');
    if (at === -1) continue;
    const key = line.slice(0, at);
    const value = line.slice(at + 1).trim();
    if (key === 'hostname') probe.hostname = value;
    else if (key === 'cgroup') probe.cgroup = value;
    else if (key === 'nodeip') probe.nodeIP = value;
    else if (key === 'package') {
      try {
        const record = JSON.parse(value) as { name?: string; version?: string; archiveSha256?: string };
        if (record.name && record.version) probe.packages.push({ name: record.name, version: record.version, ...(record.archiveSha256 ? { archiveSha256: record.archiveSha256 } : {}) });
      } catch {
        // A record half-written by a dying install: the package is reinstalled.
      }
    } else if (key === 'service.containerd') probe.services.containerd = service(value);
    else if (key === 'service.kubelet') probe.services.kubelet = service(value);
    else if (key === 'kubelet.healthy') probe.kubeletHealthy = value === 'yes';
    else if (key === 'kubelet.joined') probe.kubeletJoined = value === 'yes';
    else if (key === 'kubelet.serving') probe.kubeletServing = value === 'yes';
    else if (key === 'image') probe.images.push(value);
    else if (key === 'cri') probe.criServing = value === 'ok';
  }
  probe.packages.sort((a, b) => a.name.localeCompare(b.name));
  return probe;
}
