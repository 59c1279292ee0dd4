// Taking a host out: cordon the Node, delete it from the guest, then over SSH stop the services,
// end every container, unmount what the kubelet and containerd mounted, and remove the packages,
// configuration and state Tessera put there. The host is left as it was before it joined.
import { CONTAINERD_SOCKET, HOST_STATE_DIR, INSTALL_ROOT } from '../../../node/catalogue.ts';
import { CGROUP_PROBE } from '../../../node/join-steps.ts';

export const CLEANUP_SCRIPT = [
  'set -u',
  'for s in kubelet containerd; do rm -f /etc/service/$s; sv force-stop /etc/sv/$s >/dev/null 2>&1; done',
  // Containers outlive their shim when it is killed: end every task first, then whatever is
  // left in the kubelet's pod cgroups.
  `ctr=${INSTALL_ROOT}/containerd/current/bin/ctr`,
  `if [ -x $ctr ] && [ -S ${CONTAINERD_SOCKET} ]; then for t in $($ctr --address ${CONTAINERD_SOCKET} -n k8s.io tasks ls -q 2>/dev/null); do $ctr --address ${CONTAINERD_SOCKET} -n k8s.io tasks kill -s KILL $t >/dev/null 2>&1; done; fi`,
  `cg=$(${CGROUP_PROBE})`,
  'for d in /sys/fs/cgroup/*"$cg"/kubepods* /sys/fs/cgroup/"$cg"/kubepods*; do [ -d "$d" ] && find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null; done',
  'pkill -9 -x kubelet; pkill -9 -f containerd-shim; pkill -9 -x containerd; sleep 0.5',
  'for d in /sys/fs/cgroup/*"$cg"/kubepods* /sys/fs/cgroup/"$cg"/kubepods*; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done',
  "awk '$2 ~ \"^/(var/lib/kubelet|run/containerd|var/lib/containerd|run/netns)\" {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l \"$m\" 2>/dev/null; done",
  'ip link del cni0 2>/dev/null',
  `rm -rf ${INSTALL_ROOT} ${HOST_STATE_DIR} /var/lib/kubelet /var/lib/containerd /run/containerd /etc/kubernetes /etc/containerd /etc/cni/net.d/10-tessera.conflist /var/lib/cni /etc/sv/kubelet /etc/sv/containerd /var/log/kubelet.log /var/log/containerd.log /var/log/pods /var/log/containers`,
  'if pgrep -x kubelet >/dev/null || pgrep -x containerd >/dev/null; then echo "kubelet or containerd still runs" >&2; exit 1; fi',
  'exit 0',
].join('\n');
