// Which kubelet certificate requests in a guest the Node operator approves: only those of a known
// Machine, asked for by that Machine's own bootstrap token or by its Node, naming exactly its
// Node and its own addresses. No blanket auto-approval: a stolen bootstrap token can ask for a
// certificate, but not get one for a node no Machine describes, nor for another Machine's name.
// reflect-metadata before @peculiar/x509 (see src/pki/certificate-authority.ts).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export const KUBELET_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
export const KUBELET_SERVING_SIGNER = 'kubernetes.io/kubelet-serving';
const NODES_GROUP = 'system:nodes';
const NODE_USER_PREFIX = 'system:node:';
const BOOTSTRAP_USER_PREFIX = 'system:bootstrap:';
const SUBJECT_ALT_NAME_OID = '2.5.29.17';

/** A pending CertificateSigningRequest, as the guest reports it. */
export type KubeletCsr = { name: string; signerName: string; username: string; groups: string[]; usages: string[]; requestPem: string };

/** What the operator knows of one Machine: its Node name, its bootstrap tokens, its addresses. */
export type MachineIdentity = { nodeName: string; bootstrapTokenIds: readonly string[]; hostnames: readonly string[]; addresses: readonly string[] };

export type CsrVerdict = { verdict: 'approve' | 'deny'; message: string };

type Request = { commonName: string; organizations: string[]; dns: string[]; ips: string[]; others: string[] };

function parseRequest(pem: string): Request {
  const request = new x509.Pkcs10CertificateRequest(pem);
  const attribute = (type: string) => request.subjectName.getField(type);
  // By OID: the lookup by class finds nothing in 2.2.0 for requests.
  const extension = request.getExtension(SUBJECT_ALT_NAME_OID) as x509.SubjectAlternativeNameExtension | null;
  const names = extension?.names.toJSON() ?? [];
  return {
    commonName: attribute('CN')[0] ?? '',
    organizations: attribute('O'),
    dns: names.filter((name) => name.type === 'dns').map((name) => name.value),
    ips: names.filter((name) => name.type === 'ip').map((name) => name.value),
    others: names.filter((name) => name.type !== 'dns' && name.type !== 'ip').map((name) => `${name.type}:${name.value}`),
  };
}

/**
 * The verdict on `csr` among several machines that may share a bootstrap token (hosts joined by
 * hand): the one whose identity approves it, else the first denial, else undefined.
 */
export function judgeAmong(csr: KubeletCsr, machines: readonly MachineIdentity[]): (CsrVerdict & { nodeName: string }) | undefined {
  const verdicts = machines.flatMap((machine) => {
    const verdict = judgeKubeletCsr(csr, machine);
    return verdict ? [{ ...verdict, nodeName: machine.nodeName }] : [];
  });
  return verdicts.find((verdict) => verdict.verdict === 'approve') ?? verdicts[0];
}

/**
 * The verdict on `csr` for `machine`, or undefined when the request is not about this Machine
 * (another Machine's, a node joined by hand, another signer): then it is left to others.
 */
export function judgeKubeletCsr(csr: KubeletCsr, machine: MachineIdentity): CsrVerdict | undefined {
  if (csr.signerName !== KUBELET_CLIENT_SIGNER && csr.signerName !== KUBELET_SERVING_SIGNER) return undefined;
  const nodeUser = `${NODE_USER_PREFIX}${machine.nodeName}`;
  const byOwnToken = csr.username.startsWith(BOOTSTRAP_USER_PREFIX) && machine.bootstrapTokenIds.includes(csr.username.slice(BOOTSTRAP_USER_PREFIX.length));
  const byOwnNode = csr.username === nodeUser && csr.groups.includes(NODES_GROUP);
  let request: Request;
  try {
    request = parseRequest(csr.requestPem);
  } catch (error) {
    return byOwnToken || byOwnNode ? { verdict: 'deny', message: `the request of ${csr.username} does not parse as PKCS#10: ${(error as Error).message}` } : undefined;
  }
  const claimsNode = request.commonName === nodeUser;
  if (!claimsNode && !byOwnToken) return undefined;
  const deny = (why: string): CsrVerdict => ({ verdict: 'deny', message: `${csr.signerName} request ${csr.name} from ${csr.username}: ${why}` });
  if (!claimsNode) return deny(`asks for "${request.commonName}" with Machine ${machine.nodeName}'s bootstrap token; it may only ask for ${nodeUser}`);
  if (request.organizations.length !== 1 || request.organizations[0] !== NODES_GROUP) return deny(`organization must be exactly ${NODES_GROUP}, not ${JSON.stringify(request.organizations)}`);
  if (request.others.length > 0) return deny(`names ${request.others.join(', ')}; a kubelet certificate names only DNS names and IP addresses`);
  if (csr.signerName === KUBELET_CLIENT_SIGNER) {
    if (!byOwnToken && !byOwnNode) return deny(`requested by neither this Machine's bootstrap token (${machine.bootstrapTokenIds.join(', ') || 'none'}) nor its Node`);
    if (request.dns.length + request.ips.length > 0) return deny('a kubelet client certificate names no DNS names or addresses');
    const wrong = csr.usages.filter((usage) => !['digital signature', 'key encipherment', 'client auth'].includes(usage));
    if (wrong.length > 0 || !csr.usages.includes('client auth')) return deny(`usages ${JSON.stringify(csr.usages)}: a kubelet client certificate is for client auth only`);
    return { verdict: 'approve', message: `kubelet client certificate for ${nodeUser}, requested by ${byOwnToken ? `this Machine's bootstrap token` : 'its Node (renewal)'}` };
  }
  if (!byOwnNode) return deny(`a kubelet serving certificate is requested by the Node itself (${nodeUser}), not by ${csr.username}`);
  const foreignNames = request.dns.filter((name) => !machine.hostnames.includes(name));
  const foreignAddresses = request.ips.filter((address) => !machine.addresses.includes(address));
  if (foreignNames.length + foreignAddresses.length > 0) return deny(`names ${[...foreignNames, ...foreignAddresses].join(', ')}, which are not the Machine's (${[...machine.hostnames, ...machine.addresses].join(', ')})`);
  if (request.dns.length + request.ips.length === 0) return deny('a serving certificate must name the node\'s hostname or address');
  const wrong = csr.usages.filter((usage) => !['digital signature', 'key encipherment', 'server auth'].includes(usage));
  if (wrong.length > 0 || !csr.usages.includes('server auth')) return deny(`usages ${JSON.stringify(csr.usages)}: a kubelet serving certificate is for server auth only`);
  return { verdict: 'approve', message: `kubelet serving certificate for ${[...request.dns, ...request.ips].join(', ')}` };
}
