// Reaching a guest's API from the operator: the admin kubeconfig (from its Secret) against the
// rendered `<c>-kube-apiserver` Service. A guest counts as Ready only when this answers /readyz.
import { request, type RequestOptions } from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import { KubeConfig } from '@kubernetes/client-node';
import { parseKubeconfig } from '../../pki/kubeconfig.ts';
import { NoAnswerError, RestClient, setRequestDeadline } from '../../controller/rest-client.ts';

export type GuestCredentials = { caCertPem: string; clientCertPem: string; clientKeyPem: string };

export function credentialsFromKubeconfig(text: string): GuestCredentials {
  const parsed = parseKubeconfig(text);
  if (!parsed.clientCertPem || !parsed.clientKeyPem) throw new Error('the admin kubeconfig has no client certificate');
  return { caCertPem: parsed.caCertPem, clientCertPem: parsed.clientCertPem, clientKeyPem: parsed.clientKeyPem };
}

/**
 * The TLS context of a guest's admin credentials, made once per guest: building one parses the
 * key and the CA, which costs more than the probe it serves when a guest is probed every pass.
 */
export function guestSecureContext(credentials: GuestCredentials): SecureContext {
  return createSecureContext({ ca: credentials.caCertPem, cert: credentials.clientCertPem, key: credentials.clientKeyPem });
}

/** What /readyz said; `noAnswer`: the endpoint accepted and did not answer in time. */
export type ReadyzAnswer = { ready: boolean; detail: string; noAnswer?: boolean };

/** GET /readyz on `server` (e.g. https://<service ClusterIP>:6443): 'ok' or why not, within `timeoutMs` in all. */
export function probeReadyz(server: string, credentials: GuestCredentials | SecureContext, timeoutMs = 3000): Promise<ReadyzAnswer> {
  const secureContext = 'caCertPem' in credentials ? guestSecureContext(credentials) : credentials;
  return new Promise((resolve) => {
    const req = request(
      new URL('/readyz', server),
      // https hands secureContext to tls.connect; its RequestOptions type leaves it out.
      { secureContext, agent: false } as RequestOptions,
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ ready: response.statusCode === 200 && body.trim() === 'ok', detail: `${response.statusCode} ${body.trim().slice(0, 200)}` }));
        response.on('error', (error) => resolve({ ready: false, detail: error.message }));
      },
    );
    // Which step the time went to, so an unanswered probe says whether the TCP connection, the TLS
    // handshake or the API server itself was slow.
    const started = performance.now();
    const reached: string[] = [];
    const mark = (step: string) => reached.push(`${step} after ${Math.round(performance.now() - started)}ms`);
    req.once('socket', (socket) => {
      socket.once('connect', () => mark('connected'));
      socket.once('secureConnect', () => mark('TLS done'));
    });
    setRequestDeadline(req, timeoutMs, () => new NoAnswerError(`no answer within ${timeoutMs}ms (${reached.length > 0 ? reached.join(', ') : 'not connected'})`));
    req.on('error', (error) => resolve({ ready: false, detail: error.message, ...(error instanceof NoAnswerError ? { noAnswer: true } : {}) }));
    req.end();
  });
}

/** A REST client for the guest, authenticated as its admin, pointed at `server`. */
export function guestClient(server: string, credentials: GuestCredentials, clusterName: string): RestClient {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: clusterName, server, caData: Buffer.from(credentials.caCertPem).toString('base64') }],
    users: [{ name: 'admin', certData: Buffer.from(credentials.clientCertPem).toString('base64'), keyData: Buffer.from(credentials.clientKeyPem).toString('base64') }],
    contexts: [{ name: 'admin', cluster: clusterName, user: 'admin' }],
    currentContext: 'admin',
  });
  return new RestClient(kubeConfig);
}
