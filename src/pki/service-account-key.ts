import { generateKeyPairSync } from 'node:crypto';

export type ServiceAccountKeyPair = {
  /** SPKI "-----BEGIN PUBLIC KEY-----": for kube-apiserver --service-account-key-file. */
  publicKeyPem: string;
  /** PKCS#8 "-----BEGIN PRIVATE KEY-----": for kube-apiserver --service-account-signing-key-file
   *  and kube-controller-manager --service-account-private-key-file (legacy token Secrets). */
  privateKeyPem: string;
};

/**
 * An ECDSA P-256 key pair for signing service account tokens (ES256), the same algorithm as every
 * other key of a guest (kubeadm does the same with encryptionAlgorithm ECDSA-P256). kube-apiserver
 * signs and verifies ES256 tokens, and OIDC clients verify them through its discovery keys. RSA
 * 2048 took about 80 ms of blocking CPU per guest, the largest single cost of creating one;
 * P-256 takes well under a millisecond. Guests created earlier keep their RSA key: a new one would
 * invalidate every token. Both PEM block types are ones client-go's keyutil reads: "PUBLIC KEY"
 * via ParsePublicKeysPEM, "PRIVATE KEY" (PKCS#8) via ParsePrivateKeyPEM.
 */
export function createServiceAccountKeyPair(): ServiceAccountKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}
