import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { parse, stringify } from 'yaml';
import type { ApiConnection } from '../controller/rest-client.ts';

/** One cluster, one user and the context joining them: what a Tessera kubeconfig holds. */
export type KubeconfigFields = {
  clusterName: string;
  /** https URL of the API server, e.g. "https://10.0.0.1:6443". */
  server: string;
  caCertPem: string;
  userName: string;
  /** With clientKeyPem: authenticate by client certificate. */
  clientCertPem?: string;
  clientKeyPem?: string;
  /** Bearer token, instead of or besides a client certificate. */
  token?: string;
  namespace?: string;
};

/**
 * Renders a self-contained kubeconfig (certificates and keys inline as base64 *-data fields) with
 * one context, named "<userName>@<clusterName>" as kubeadm names its own, set as current-context.
 */
export function renderKubeconfig(fields: KubeconfigFields): string {
  const caller = 'renderKubeconfig';
  const clusterName = requireText(fields.clusterName, 'clusterName', caller);
  const server = requireHttpsUrl(fields.server, 'server', caller);
  const caCertPem = requireText(fields.caCertPem, 'caCertPem', caller);
  parseCertificate(caCertPem, 'caCertPem', caller);
  const userName = requireText(fields.userName, 'userName', caller);
  const { clientCertPem, clientKeyPem, token, namespace } = fields;

  const user: Record<string, string> = {};
  if (clientCertPem !== undefined || clientKeyPem !== undefined) {
    const certificate = parseCertificate(requireText(clientCertPem, 'clientCertPem', caller, 'clientKeyPem'), 'clientCertPem', caller);
    const key = parsePrivateKey(requireText(clientKeyPem, 'clientKeyPem', caller, 'clientCertPem'), 'clientKeyPem', caller);
    if (!certificate.checkPrivateKey(key)) {
      throw new Error(`${caller}: clientKeyPem is not the private key of clientCertPem; pass the pair that belong together`);
    }
    user['client-certificate-data'] = toBase64(clientCertPem as string);
    user['client-key-data'] = toBase64(clientKeyPem as string);
  }
  if (token !== undefined) {
    // The token goes verbatim into an Authorization header; whitespace would split or corrupt it.
    if (typeof token !== 'string' || !/^\S+$/.test(token)) {
      throw new Error(`${caller}: token must be a non-empty string without whitespace`);
    }
    user['token'] = token;
  }
  if (Object.keys(user).length === 0) {
    throw new Error(`${caller}: credentials are required: give clientCertPem with clientKeyPem, or token`);
  }
  if (namespace !== undefined) requireText(namespace, 'namespace', caller);

  const contextName = `${userName}@${clusterName}`;
  const context: Record<string, string> = { cluster: clusterName, user: userName };
  if (namespace !== undefined) context['namespace'] = namespace;
  const document = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster: { server, 'certificate-authority-data': toBase64(caCertPem) } }],
    users: [{ name: userName, user }],
    contexts: [{ name: contextName, context }],
    'current-context': contextName,
    preferences: {},
  };
  // lineWidth 0: never fold long scalars, so naive readers see each base64 blob on one line.
  return stringify(document, { lineWidth: 0 });
}

/**
 * Reads back the fields of the current context of a kubeconfig. Only inline credentials
 * (*-data, token) are read; file references make it throw, naming the field.
 */
export function parseKubeconfig(text: string): KubeconfigFields {
  const caller = 'parseKubeconfig';
  requireText(text, 'text', caller);
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new Error(`${caller}: text is not YAML: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const root = requireRecord(document, 'kubeconfig', caller);
  const contextName = requireText(root['current-context'], 'current-context', caller);
  const contextEntry = findNamed(root['contexts'], 'contexts', contextName, caller);
  const context = requireRecord(contextEntry['context'], `contexts[name=${contextName}].context`, caller);
  const clusterName = requireText(context['cluster'], `contexts[name=${contextName}].context.cluster`, caller);
  const userName = requireText(context['user'], `contexts[name=${contextName}].context.user`, caller);

  const clusterPath = `clusters[name=${clusterName}].cluster`;
  const cluster = requireRecord(findNamed(root['clusters'], 'clusters', clusterName, caller)['cluster'], clusterPath, caller);
  rejectFileReference(cluster, 'certificate-authority', clusterPath, caller);
  const fields: KubeconfigFields = {
    clusterName,
    server: requireText(cluster['server'], `${clusterPath}.server`, caller),
    caCertPem: fromBase64(requireText(cluster['certificate-authority-data'], `${clusterPath}.certificate-authority-data`, caller)),
    userName,
  };

  const userPath = `users[name=${userName}].user`;
  const user = requireRecord(findNamed(root['users'], 'users', userName, caller)['user'], userPath, caller);
  rejectFileReference(user, 'client-certificate', userPath, caller);
  rejectFileReference(user, 'client-key', userPath, caller);
  if (user['client-certificate-data'] !== undefined) {
    fields.clientCertPem = fromBase64(requireText(user['client-certificate-data'], `${userPath}.client-certificate-data`, caller));
  }
  if (user['client-key-data'] !== undefined) {
    fields.clientKeyPem = fromBase64(requireText(user['client-key-data'], `${userPath}.client-key-data`, caller));
  }
  if (user['token'] !== undefined) fields.token = requireText(user['token'], `${userPath}.token`, caller);
  if (context['namespace'] !== undefined) {
    fields.namespace = requireText(context['namespace'], `contexts[name=${contextName}].context.namespace`, caller);
  }
  return fields;
}

function requireText(value: unknown, field: string, caller: string, neededWith?: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    const reason = neededWith ? ` (it comes together with ${neededWith})` : '';
    throw new Error(`${caller}: ${field} is required${reason}: give a non-empty string`);
  }
  return value;
}

function requireHttpsUrl(value: unknown, field: string, caller: string): string {
  const text = requireText(value, field, caller);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${caller}: ${field} ${JSON.stringify(text)} is not a URL; give e.g. "https://10.0.0.1:6443"`);
  }
  if (url.protocol !== 'https:') {
    throw new Error(`${caller}: ${field} ${JSON.stringify(text)} must use https (the API server only serves TLS)`);
  }
  return text;
}

function requireRecord(value: unknown, field: string, caller: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${caller}: ${field} must be a mapping`);
  }
  return value as Record<string, unknown>;
}

function findNamed(list: unknown, field: string, name: string, caller: string): Record<string, unknown> {
  const entries = Array.isArray(list) ? (list as unknown[]) : [];
  const entry = entries.find((item) => typeof item === 'object' && item !== null && (item as { name?: unknown }).name === name);
  if (entry === undefined) throw new Error(`${caller}: ${field} has no entry named ${JSON.stringify(name)}`);
  return entry as Record<string, unknown>;
}

function rejectFileReference(section: Record<string, unknown>, key: string, path: string, caller: string): void {
  if (section[key] !== undefined && section[`${key}-data`] === undefined) {
    throw new Error(`${caller}: ${path}.${key} refers to a file; only inline ${key}-data is read (kubectl config view --flatten inlines it)`);
  }
}

function parseCertificate(pem: string, field: string, caller: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new Error(`${caller}: ${field} is not a PEM certificate: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function parsePrivateKey(pem: string, field: string, caller: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw new Error(`${caller}: ${field} is not a PEM private key: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function toBase64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function fromBase64(text: string): string {
  return Buffer.from(text, 'base64').toString('utf8');
}

/**
 * A RestClient connection from kubeconfig text (embedded certificates, or a token), without
 * client-node: for commands that must answer fast (`tessera fleet`).
 */
export function kubeconfigConnection(text: string): ApiConnection {
  const fields = parseKubeconfig(text);
  return {
    getCurrentCluster: () => ({ name: fields.clusterName, server: fields.server, caData: Buffer.from(fields.caCertPem).toString('base64'), skipTLSVerify: false }),
    applyToHTTPSOptions: async (options) => {
      options.ca = fields.caCertPem;
      if (fields.clientCertPem && fields.clientKeyPem) {
        options.cert = fields.clientCertPem;
        options.key = fields.clientKeyPem;
      }
      if (fields.token) options.headers = { ...options.headers, authorization: `Bearer ${fields.token}` };
    },
  };
}
