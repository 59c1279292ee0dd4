// PKI: the guest's certificate authorities, leaf certificates and kubeconfigs as Secrets, issued
// and renewed by pki/certificate-secrets.ts. A removed user's kubeconfig Secret is pruned at
// once. Verifying every certificate is the expensive part of a pass, so the last result is
// reused while nothing it was computed from changed and no renewal is due.
import type { V1Secret } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { ComponentError, type ClusterComponent, type ClusterPass, type MetaObject } from '../component.ts';
import { credentialsFromKubeconfig } from '../guest-access.ts';
import { buildCertificateSet, pkiSecretNames } from '../pki/certificate-set.ts';
import { certificateLifetimesOf, checksumOf, reconcileCertificateSecrets, type CertificateSecretsResult } from '../pki/certificate-secrets.ts';
import { initialEtcdMembers } from '../etcd-member.ts';
import { ConditionType, Reason } from '../status.ts';

/** What the result depends on: the set's entries, the live Secrets' versions and the lifetimes. */
function inputsOf(pass: ClusterPass, set: unknown, existing: Iterable<V1Secret>): string {
  const versions = [...existing].map((secret) => `${secret.metadata?.name}@${secret.metadata?.resourceVersion}`).sort();
  return createHash('sha256').update(JSON.stringify({ set, versions, certificates: pass.cluster.spec.certificates ?? {}, users: pass.cluster.spec.users ?? [] })).digest('hex');
}

async function certificates(pass: ClusterPass): Promise<{ result: CertificateSecretsResult; fresh: boolean }> {
  const { apiServerIP, etcdClientIP, endpoint } = pass.facts;
  if (!apiServerIP || !endpoint) throw new ComponentError(Reason.CertificateError, 'the API server Service has no ClusterIP yet');
  const existing = pass.ownedByName(pass.options.caches.secrets);
  const set = buildCertificateSet({
    cluster: pass.cluster,
    apiServerClusterIP: apiServerIP,
    etcdClientClusterIP: etcdClientIP,
    endpoint,
    etcdMemberNames: initialEtcdMembers(pass.name, pass.spec.mode).map((member) => member.name),
    metaClusterDomain: pass.options.metaClusterDomain,
  });
  const entries = set.map((entry) => ({ ...entry }));
  const inputs = inputsOf(pass, entries, existing.values());
  const memo = pass.memory.certificates;
  if (memo && memo.inputs === inputs && pass.now < memo.result.renewAt) return { result: memo.result, fresh: false };
  try {
    const result = await reconcileCertificateSecrets({ cluster: pass.cluster, set, existing, now: pass.now, ...certificateLifetimesOf(pass.cluster) });
    pass.memory.certificates = { inputs, result, entries };
    return { result, fresh: true };
  } catch (error) {
    throw new ComponentError(Reason.CertificateError, (error as Error).message, { cause: error });
  }
}

export const pki: ClusterComponent = {
  name: 'pki',
  dependsOn: ['services'],
  reason: "the API server's serving certificate names the ClusterIP of <c>-kube-apiserver",
  condition: ConditionType.CertificatesValid,
  parallelWrites: true,
  async render(pass) {
    const { result, fresh } = await certificates(pass);
    pass.facts.certificateResult = result;
    if (fresh) {
      for (const renewed of result.renewed) pass.normal('CertificateRenewed', `renewed ${renewed}: ${result.reasons[renewed] ?? ''}`);
      if (result.created.length) pass.normal('CertificatesIssued', `issued ${result.created.length} certificate Secret(s)`);
    }
    return result.secrets;
  },
  prune(pass) {
    // Secrets the set no longer names: a removed user's kubeconfig. Its certificate stays valid
    // until it expires (certificates cannot be revoked), which is why user certificates are short-lived.
    const obsolete = pass.facts.certificateResult?.obsolete ?? [];
    return obsolete.map((name): MetaObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: pass.namespace } }));
  },
  async act(pass, applied) {
    const result = pass.facts.certificateResult;
    if (!result) return;
    const secrets = new Map((applied as V1Secret[]).map((secret) => [secret.metadata?.name ?? '', secret]));
    // The Secrets as just written hold what was verified or issued: the next pass that sees them
    // (and no other change) reuses this result instead of parsing every certificate again.
    const memo = pass.memory.certificates;
    if (memo?.result === result && memo.entries) {
      const others = pass.owned(pass.options.caches.secrets).filter((secret) => !secrets.has(secret.metadata?.name ?? '') && !result.obsolete.includes(secret.metadata?.name ?? ''));
      memo.inputs = inputsOf(pass, memo.entries, [...secrets.values(), ...others]);
    }
    const names = pkiSecretNames(pass.name);
    // The checksum rolls the control-plane pods: only Secrets they mount count, not user kubeconfigs.
    const mounted = result.secrets.map((secret) => secret.metadata?.name ?? '').filter((name) => name !== names.adminKubeconfig && !pass.spec.users.some((user) => name === names.userKubeconfig(user.name)));
    pass.facts.secrets = secrets;
    pass.facts.certificateChecksum = checksumOf(result.secrets, mounted);
    pass.facts.certificates = { notAfter: result.earliestNotAfter.toISOString(), caNotAfter: result.caNotAfter.toISOString(), renewAt: result.renewAt.toISOString() };
    const admin = secrets.get(names.adminKubeconfig)?.data?.['kubeconfig'];
    if (admin) {
      // Parsing the kubeconfig every pass cost more than the rest of the component once settled.
      if (pass.memory.credentials?.source !== admin) pass.memory.credentials = { source: admin, credentials: credentialsFromKubeconfig(Buffer.from(admin, 'base64').toString('utf8')) };
      pass.facts.credentials = pass.memory.credentials.credentials;
    }
    pass.requeueWithin(Math.max(1000, result.renewAt.getTime() - pass.now.getTime()));
  },
  observe(pass) {
    const result = pass.facts.certificateResult;
    if (!result) return { ready: false, condition: { status: 'False', reason: Reason.CertificateError, message: 'no certificates were issued' } };
    const expiring = result.expiringCertificateAuthorities;
    if (expiring.length > 0) {
      return { ready: true, condition: { status: 'False', reason: Reason.CertificateAuthorityExpiring, message: `certificate authorities expiring: ${expiring.join(', ')} (rotate them by deleting their Secrets)` } };
    }
    return { ready: true, condition: { status: 'True', reason: Reason.Valid, message: `certificates valid until ${result.earliestNotAfter.toISOString()}, renewal at ${result.renewAt.toISOString()}` } };
  },
};

