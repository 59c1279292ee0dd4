import { generateKeyPairSync } from 'node:crypto';

export type ServiceAccountKeyPair = {
  /** SPKI "-----BEGIN PUBLIC KEY-----": for kube-apiserver --service-account-key-file. */
  publicKeyPem: string;
  /** PKCS#8 "-----BEGIN PRIVATE KEY-----": for kube-apiserver --service-account-signing-key-file
   *  and kube-controller-manager --service-account-private-key-file (legacy token Secrets). */
  privateKeyPem: string;
};

/**
 * An RSA 2048 key pair for signing service account tokens (RS256). RSA rather than ECDSA because
 * every token verifier (OIDC discovery clients, older libraries) understands RS256. Both PEM block
 * types are ones client-go's keyutil reads: "PUBLIC KEY" via ParsePublicKeysPEM, "PRIVATE KEY" via
 * ParsePrivateKeyPEM. Generation takes tens of milliseconds and blocks; it runs once per cluster.
 */
export function createServiceAccountKeyPair(): ServiceAccountKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}
