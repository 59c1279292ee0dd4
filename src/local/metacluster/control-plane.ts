// Command lines of the meta cluster's upstream control-plane processes: pure functions from the
// cluster's settings and file layout to argv, so they can be read and tested like the spec.
import { join } from 'node:path';
import type { MetaClusterConfig } from './config.ts';

export type PkiLayout = ReturnType<typeof pkiLayout>;

export function pkiLayout(pki: string) {
  const pair = (name: string) => ({ cert: join(pki, `${name}.crt`), key: join(pki, `${name}.key`) });
  return {
    ca: pair('ca'),
    apiServer: pair('apiserver'),
    apiServerKubeletClient: pair('apiserver-kubelet-client'),
    apiServerEtcdClient: pair('apiserver-etcd-client'),
    frontProxyCa: pair('front-proxy-ca'),
    frontProxyClient: pair('front-proxy-client'),
    etcdCa: pair('etcd-ca'),
    etcdServer: pair('etcd-server'),
    serviceAccount: { publicKey: join(pki, 'sa.pub'), privateKey: join(pki, 'sa.key') },
    adminKubeconfig: join(pki, 'admin.kubeconfig'),
    controllerManagerKubeconfig: join(pki, 'controller-manager.kubeconfig'),
    schedulerKubeconfig: join(pki, 'scheduler.kubeconfig'),
    runtimeKubeconfig: join(pki, 'local-runtime.kubeconfig'),
    nodeKubeconfig: (node: string) => join(pki, 'nodes', `${node}.kubeconfig`),
    nodeServing: (node: string) => pair(join('nodes', `${node}-serving`)),
  };
}

export function etcdArgs(config: MetaClusterConfig, pki: PkiLayout, dataDir: string): string[] {
  const client = `https://127.0.0.1:${config.etcdClientPort}`;
  const peer = `http://127.0.0.1:${config.etcdPeerPort}`;
  return [
    '--name=meta',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=meta=${peer}`,
    `--listen-metrics-urls=http://127.0.0.1:${config.etcdMetricsPort}`,
    `--cert-file=${pki.etcdServer.cert}`,
    `--key-file=${pki.etcdServer.key}`,
    `--trusted-ca-file=${pki.etcdCa.cert}`,
    '--client-cert-auth=true',
    '--snapshot-count=10000',
  ];
}

export function apiServerArgs(config: MetaClusterConfig, pki: PkiLayout): string[] {
  return [
    `--etcd-servers=https://127.0.0.1:${config.etcdClientPort}`,
    `--etcd-cafile=${pki.etcdCa.cert}`,
    `--etcd-certfile=${pki.apiServerEtcdClient.cert}`,
    `--etcd-keyfile=${pki.apiServerEtcdClient.key}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${config.apiServerPort}`,
    `--tls-cert-file=${pki.apiServer.cert}`,
    `--tls-private-key-file=${pki.apiServer.key}`,
    `--client-ca-file=${pki.ca.cert}`,
    `--service-cluster-ip-range=${config.serviceCIDR}`,
    `--service-account-issuer=https://kubernetes.default.svc.${config.clusterDomain}`,
    `--service-account-key-file=${pki.serviceAccount.publicKey}`,
    `--service-account-signing-key-file=${pki.serviceAccount.privateKey}`,
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction',
    '--allow-privileged=true',
    `--kubelet-client-certificate=${pki.apiServerKubeletClient.cert}`,
    `--kubelet-client-key=${pki.apiServerKubeletClient.key}`,
    `--kubelet-certificate-authority=${pki.ca.cert}`,
    '--kubelet-preferred-address-types=InternalIP',
    `--proxy-client-cert-file=${pki.frontProxyClient.cert}`,
    `--proxy-client-key-file=${pki.frontProxyClient.key}`,
    `--requestheader-client-ca-file=${pki.frontProxyCa.cert}`,
    '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    // The API server would publish its own loopback address in the `kubernetes` Endpoints, which
    // validation forbids; the runtime's service proxy routes that Service instead.
    '--endpoint-reconciler-type=none',
    '--profiling=false',
  ];
}

export function controllerManagerArgs(config: MetaClusterConfig, pki: PkiLayout): string[] {
  const kubeconfig = pki.controllerManagerKubeconfig;
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${config.controllerManagerPort}`,
    `--cluster-name=${config.clusterName}`,
    `--cluster-signing-cert-file=${pki.ca.cert}`,
    `--cluster-signing-key-file=${pki.ca.key}`,
    `--root-ca-file=${pki.ca.cert}`,
    `--service-account-private-key-file=${pki.serviceAccount.privateKey}`,
    `--service-cluster-ip-range=${config.serviceCIDR}`,
    '--use-service-account-credentials=true',
    // A cell hosts hundreds of control planes, three Deployments each: at the default 20
    // requests/s per controller the Deployment and ReplicaSet controllers took minutes to roll
    // out 600 control-plane Deployments, and every guest waited for them (bench/operator-scale.ts).
    '--kube-api-qps=300',
    '--kube-api-burst=600',
    '--concurrent-deployment-syncs=10',
    '--concurrent-replicaset-syncs=10',
    // Pod IPs are loopback addresses, which Endpoints and EndpointSlices may not hold; the
    // runtime computes service endpoints itself (src/local/network).
    '--controllers=*,bootstrapsigner,tokencleaner,-endpoints-controller,-endpointslice-controller,-endpointslice-mirroring-controller',
    '--leader-elect=true',
    '--profiling=false',
  ];
}

export function schedulerArgs(config: MetaClusterConfig, pki: PkiLayout): string[] {
  const kubeconfig = pki.schedulerKubeconfig;
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${config.schedulerPort}`,
    // Four pods per guest to bind, each with its Event: at the default 50 requests/s, binding
    // trailed a fleet of new guests by tens of seconds (bench/operator-scale.ts).
    '--kube-api-qps=200',
    '--kube-api-burst=400',
    '--leader-elect=true',
    '--profiling=false',
  ];
}
