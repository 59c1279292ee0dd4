// The steps that put a package on a host and make a host a node, as shell scripts run over SSH.
// Pure: manifests and parameters in, script text out, so the Node operator and the proof test
// run exactly the same steps and tests can read them. Every script is idempotent: run again it
// changes nothing that is already right.
import { stringify } from 'yaml';
import { CONTAINERD_SOCKET, HOST_STATE_DIR, INSTALL_ROOT } from './catalogue.ts';
import type { PackageManifest } from './package-manifest.ts';

/** Single-quotes a word for sh. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

export const UPLOAD_DIR = `${HOST_STATE_DIR}/uploads`;
const INSTALLED_DIR = `${HOST_STATE_DIR}/packages`;

export function uploadPath(manifest: Pick<PackageManifest, 'name' | 'version'>): string {
  return `${UPLOAD_DIR}/${manifest.name}-${manifest.version}.tar.gz`;
}

/**
 * Verifies the uploaded archive against the catalogue's digest before anything is unpacked,
 * unpacks it into its versioned directory, verifies every file, points `current` at it and
 * records what is installed (the operator reads versions back from these records).
 */
/** `reinstall`: unpack again even if the same version is installed (remediation of a damaged package). */
export function renderInstallScript(manifest: PackageManifest, archiveSha256: string, options: { reinstall?: boolean } = {}): string {
  const archive = uploadPath(manifest);
  const dir = manifest.installDir;
  const staging = `${dir}.partial`;
  const checks = manifest.files.map((file) => `${file.sha256}  ${file.path}`).join('\n');
  const record = JSON.stringify({ name: manifest.name, version: manifest.version, archiveSha256, installDir: dir, ...(manifest.broken ? { broken: manifest.broken } : {}) });
  const recordPath = `${INSTALLED_DIR}/${manifest.name}.json`;
  return [
    'set -eu',
    // One install of a package at a time on the host, and none at all when an earlier run (of an
    // operator that died while the host carried on) already finished it: the record is the proof.
    `mkdir -p ${INSTALLED_DIR}`,
    `exec 9>${shellQuote(`${INSTALLED_DIR}/.${manifest.name}.lock`)}`,
    'flock 9',
    options.reinstall
      ? `rm -f ${shellQuote(`${dir}/.installed`)}`
      : `if [ -f ${shellQuote(recordPath)} ] && [ "$(cat ${shellQuote(recordPath)})" = ${shellQuote(record)} ]; then exit 0; fi`,
    `echo ${shellQuote(`${archiveSha256}  ${archive}`)} | sha256sum --check --strict --quiet -`,
    `if [ ! -f ${shellQuote(`${dir}/.installed`)} ]; then`,
    `  rm -rf ${shellQuote(staging)} && mkdir -p ${shellQuote(staging)}`,
    `  tar -xzf ${shellQuote(archive)} -C ${shellQuote(staging)}`,
    `  (cd ${shellQuote(staging)} && sha256sum --check --strict --quiet - <<'SUMS'\n${checks}\nSUMS\n  )`,
    `  rm -rf ${shellQuote(dir)} && mv ${shellQuote(staging)} ${shellQuote(dir)} && touch ${shellQuote(`${dir}/.installed`)}`,
    'fi',
    `ln -sfn ${shellQuote(manifest.version)} ${shellQuote(`${INSTALL_ROOT}/${manifest.name}/current`)}`,
    `printf '%s\\n' ${shellQuote(record)} > ${shellQuote(recordPath)}`,
    '',
  ].join('\n');
}

/** Loads a package's images into containerd's Kubernetes namespace (idempotent: same digests). */
export function renderImageImportScript(manifest: PackageManifest): string {
  if (manifest.activation.kind !== 'containerd-images') throw new Error(`package ${manifest.name} has no images to import`);
  const ctr = `${INSTALL_ROOT}/containerd/current/bin/ctr`;
  return ['set -eu', ...manifest.activation.images.map((image) => `${ctr} --address ${CONTAINERD_SOCKET} -n k8s.io images import --local ${shellQuote(`${manifest.installDir}/${image.archive}`)} >/dev/null`), ''].join('\n');
}

/**
 * A runit service (the hosts' service manager): /etc/sv/<name>/run, enabled by its link in
 * /etc/service, which runsvdir picks up within 5 s. Output goes to /var/log/<name>.log.
 */
export function renderServiceScript(name: string, command: readonly string[], environment: Readonly<Record<string, string>> = {}): string {
  const run = [
    '#!/bin/sh',
    'exec >>/var/log/' + name + '.log 2>&1',
    ...Object.entries(environment).map(([key, value]) => `export ${key}=${shellQuote(value)}`),
    `exec ${command.map(shellQuote).join(' ')}`,
    '',
  ].join('\n');
  return [
    'set -eu',
    `mkdir -p /etc/sv/${name}`,
    `cat > /etc/sv/${name}/run.new <<'RUN'\n${run}RUN`,
    `chmod 755 /etc/sv/${name}/run.new`,
    `if ! cmp -s /etc/sv/${name}/run.new /etc/sv/${name}/run; then mv /etc/sv/${name}/run.new /etc/sv/${name}/run; changed=1; else rm /etc/sv/${name}/run.new; changed=0; fi`,
    `if [ -L /etc/service/${name} ]; then new=0; else ln -s /etc/sv/${name} /etc/service/${name}; new=1; fi`,
    // runsv needs a moment to notice a new service, and starts it itself; a service it already
    // ran is restarted when its run file changed (a new one restarted at once would start twice:
    // a kubelet would ask for its certificate twice).
    `i=0; until sv status /etc/service/${name} >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 100 ] || { echo "runit did not pick up ${name}" >&2; exit 1; }; sleep 0.1; done`,
    `if [ "$changed" = 1 ] && [ "$new" = 0 ]; then sv restart /etc/service/${name} >/dev/null; else sv start /etc/service/${name} >/dev/null; fi`,
    '',
  ].join('\n');
}

/** Writes a file only when its content differs (so re-running a step restarts nothing). */
export function renderFileScript(path: string, content: string, mode = '0644'): string {
  const marker = 'TESSERA_FILE_END';
  if (content.includes(marker)) throw new Error(`content of ${path} contains the heredoc marker ${marker}`);
  const dir = path.slice(0, path.lastIndexOf('/')) || '/';
  return [
    'set -eu',
    `mkdir -p ${shellQuote(dir)}`,
    `cat > ${shellQuote(`${path}.new`)} <<'${marker}'\n${content.endsWith('\n') ? content : `${content}\n`}${marker}`,
    `chmod ${mode} ${shellQuote(`${path}.new`)}`,
    `if cmp -s ${shellQuote(`${path}.new`)} ${shellQuote(path)}; then rm ${shellQuote(`${path}.new`)}; else mv ${shellQuote(`${path}.new`)} ${shellQuote(path)}; fi`,
    '',
  ].join('\n');
}

export type ContainerdParameters = { sandboxImage: string };

/** containerd 2.x configuration (version 3) for a host; see docs/hosts.md for each choice. */
export function renderContainerdConfig(parameters: ContainerdParameters): string {
  return [
    'version = 3',
    'root = "/var/lib/containerd"',
    'state = "/run/containerd"',
    '',
    '[grpc]',
    `  address = "${CONTAINERD_SOCKET}"`,
    '',
    "[plugins.'io.containerd.cri.v1.images']",
    '  snapshotter = "overlayfs"',
    "  [plugins.'io.containerd.cri.v1.images'.pinned_images]",
    `    sandbox = "${parameters.sandboxImage}"`,
    '',
    "[plugins.'io.containerd.cri.v1.runtime']",
    // Hosts share one kernel and lack CAP_SYS_RESOURCE on some machines: runc must not raise
    // oom_score_adj above its parent's, or every pod sandbox fails to start.
    '  restrict_oom_score_adj = true',
    "  [plugins.'io.containerd.cri.v1.runtime'.containerd]",
    '    default_runtime_name = "runc"',
    "    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]",
    '      runtime_type = "io.containerd.runc.v2"',
    "      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]",
    `        BinaryName = "${INSTALL_ROOT}/runc/current/bin/runc"`,
    '        SystemdCgroup = false',
    "  [plugins.'io.containerd.cri.v1.runtime'.cni]",
    `    bin_dirs = ["${INSTALL_ROOT}/cni-plugins/current/bin"]`,
    '    conf_dir = "/etc/cni/net.d"',
    '',
  ].join('\n');
}

export type KubeletParameters = {
  nodeIP: string;
  /** The host's own cgroup (read from /proc/1/cgroup on the host): pods nest under it. */
  cgroupRoot: string;
  clusterDNS: string;
  clusterDomain: string;
};

export function renderKubeletConfig(parameters: KubeletParameters): string {
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // cgroup v1 hosts: kubelet >= 1.35 refuses them unless told (KEP-5573). Kept in one place.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: parameters.cgroupRoot,
    containerRuntimeEndpoint: `unix://${CONTAINERD_SOCKET}`,
    address: parameters.nodeIP,
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: '/etc/kubernetes/pki/ca.crt' } },
    authorization: { mode: 'Webhook' },
    clusterDNS: [parameters.clusterDNS],
    clusterDomain: parameters.clusterDomain,
    rotateCertificates: true,
    // The serving certificate comes from the guest CA through a CSR the Node operator approves
    // for the Machine's own names, so the API server can verify kubelets (not self-signed).
    serverTLSBootstrap: true,
    failSwapOn: false,
    // Hosts share one disk and one memory: thresholds for a real server would evict at once.
    evictionHard: { 'memory.available': '50Mi', 'nodefs.available': '1%', 'nodefs.inodesFree': '1%', 'imagefs.available': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    resolvConf: '/etc/resolv.conf',
  });
}

export type BootstrapParameters = { server: string; caPem: string; token: string };

export function renderBootstrapKubeconfig(parameters: BootstrapParameters): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'guest', cluster: { server: parameters.server, 'certificate-authority-data': Buffer.from(parameters.caPem).toString('base64') } }],
    users: [{ name: 'kubelet-bootstrap', user: { token: parameters.token } }],
    contexts: [{ name: 'bootstrap', context: { cluster: 'guest', user: 'kubelet-bootstrap' } }],
    'current-context': 'bootstrap',
  });
}

/** The host's pod network: a bridge with the node's pod subnet, routed (not masqueraded) by the VPC. */
export function renderCniConfig(podSubnet: string): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'tessera',
      plugins: [
        { type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: false, hairpinMode: true, ipam: { type: 'host-local', ranges: [[{ subnet: podSubnet }]], routes: [{ dst: '0.0.0.0/0' }] } },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

export function kubeletCommand(parameters: { nodeName: string; nodeIP: string; labels: Readonly<Record<string, string>> }): string[] {
  const labels = Object.entries(parameters.labels).map(([key, value]) => `${key}=${value}`).join(',');
  return [
    `${INSTALL_ROOT}/kubelet/current/bin/kubelet`,
    '--config=/var/lib/kubelet/config.yaml',
    '--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf',
    '--kubeconfig=/etc/kubernetes/kubelet.conf',
    `--hostname-override=${parameters.nodeName}`,
    `--node-ip=${parameters.nodeIP}`,
    ...(labels ? [`--node-labels=${labels}`] : []),
  ];
}

export function containerdCommand(): string[] {
  return [`${INSTALL_ROOT}/containerd/current/bin/containerd`, '--config', '/etc/containerd/config.toml'];
}

/** containerd finds its shim on PATH. */
export const CONTAINERD_ENVIRONMENT = { PATH: `${INSTALL_ROOT}/containerd/current/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` };
