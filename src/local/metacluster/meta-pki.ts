// The local meta cluster's PKI, laid out like kubeadm's: generated once into $TESSERA_HOME/pki
// and reused on every later `tessera up`, so kubeconfigs handed out stay valid.
import { mkdir, readFile, writeFile, access } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createCertificateAuthority, type KeyPairPem } from '../../pki/certificate-authority.ts';
import { issueCertificate, type CertificateUsage } from '../../pki/leaf-certificate.ts';
import { createServiceAccountKeyPair } from '../../pki/service-account-key.ts';
import { renderKubeconfig } from '../../pki/kubeconfig.ts';
import type { MetaClusterConfig } from './config.ts';
import { firstServiceAddress } from './config.ts';
import type { PkiLayout } from './control-plane.ts';

const year = 365 * 24 * 3600 * 1000;

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function writePrivate(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content, { mode: 0o600 });
}

async function loadOrCreate(pair: { cert: string; key: string }, create: () => Promise<KeyPairPem>): Promise<KeyPairPem> {
  if ((await exists(pair.cert)) && (await exists(pair.key))) {
    return { certPem: await readFile(pair.cert, 'utf8'), keyPem: await readFile(pair.key, 'utf8') };
  }
  const created = await create();
  await writePrivate(pair.key, created.keyPem);
  await writePrivate(pair.cert, created.certPem);
  return created;
}

export type MetaPki = { ca: KeyPairPem; nodeServing: Map<string, KeyPairPem>; apiServerUrl: string };

export async function ensureMetaPki(config: MetaClusterConfig, layout: PkiLayout, adminKubeconfigPath: string): Promise<MetaPki> {
  const ca = await loadOrCreate(layout.ca, () => createCertificateAuthority({ commonName: 'tessera-meta-ca' }));
  const etcdCa = await loadOrCreate(layout.etcdCa, () => createCertificateAuthority({ commonName: 'tessera-meta-etcd-ca' }));
  const frontProxyCa = await loadOrCreate(layout.frontProxyCa, () => createCertificateAuthority({ commonName: 'tessera-meta-front-proxy-ca' }));
  const leaf = (pair: { cert: string; key: string }, signer: KeyPairPem, commonName: string, usages: CertificateUsage[], extra: { organizations?: string[]; dnsNames?: string[]; ipAddresses?: string[] } = {}) =>
    loadOrCreate(pair, () => issueCertificate({ ca: signer, commonName, usages, validity: year, ...extra }));

  const domain = config.clusterDomain;
  await leaf(layout.apiServer, ca, 'kube-apiserver', ['server'], {
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', `kubernetes.default.svc.${domain}`],
    ipAddresses: ['127.0.0.1', firstServiceAddress(config.serviceCIDR)],
  });
  await leaf(layout.apiServerKubeletClient, ca, 'kube-apiserver-kubelet-client', ['client'], { organizations: ['kubeadm:cluster-admins'] });
  await leaf(layout.apiServerEtcdClient, etcdCa, 'kube-apiserver-etcd-client', ['client']);
  await leaf(layout.etcdServer, etcdCa, 'meta', ['server', 'client'], { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  await leaf(layout.frontProxyClient, frontProxyCa, 'front-proxy-client', ['client']);
  if (!(await exists(layout.serviceAccount.privateKey))) {
    const keys = createServiceAccountKeyPair();
    await writePrivate(layout.serviceAccount.privateKey, keys.privateKeyPem);
    await writePrivate(layout.serviceAccount.publicKey, keys.publicKeyPem);
  }

  const server = `https://127.0.0.1:${config.apiServerPort}`;
  const kubeconfig = async (path: string, userName: string, organizations: string[]) => {
    if (await exists(path)) return;
    const client = await issueCertificate({ ca, commonName: userName, organizations, usages: ['client'], validity: year });
    await writePrivate(path, renderKubeconfig({ clusterName: config.clusterName, server, caCertPem: ca.certPem, userName, clientCertPem: client.certPem, clientKeyPem: client.keyPem }));
  };
  await kubeconfig(layout.adminKubeconfig, 'tessera-admin', ['system:masters']);
  await kubeconfig(layout.controllerManagerKubeconfig, 'system:kube-controller-manager', []);
  await kubeconfig(layout.schedulerKubeconfig, 'system:kube-scheduler', []);
  await kubeconfig(layout.runtimeKubeconfig, 'system:tessera:local-runtime', []);
  const nodeServing = new Map<string, KeyPairPem>();
  for (const node of config.nodes) {
    await kubeconfig(layout.nodeKubeconfig(node.name), `system:node:${node.name}`, ['system:nodes']);
    nodeServing.set(node.name, await leaf(layout.nodeServing(node.name), ca, `system:node:${node.name}`, ['server'], { dnsNames: [node.name], ipAddresses: [node.address] }));
  }
  await writePrivate(adminKubeconfigPath, await readFile(layout.adminKubeconfig, 'utf8'));
  return { ca, nodeServing, apiServerUrl: server };
}
