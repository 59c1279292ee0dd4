// The ValidatingWebhookConfiguration for Cluster network admission.
//
// Scope: only CREATE and UPDATE of clusters.tessera.dev, so no other object ever waits on
// Tessera. Timeout: 5 s, well under the API server's 30 s request budget. Failure policy:
// Ignore, so the API (Cluster objects included) keeps working when Tessera is down; the
// Cluster operator runs the same rules before it creates anything and reports a conflicting
// Cluster with a False `NetworkValid` condition, so a Cluster admitted while the webhook was
// down is still never provisioned into an overlapping network.
import { clusterValidationPath } from './admission-server.ts';

export const webhookConfigurationName = 'tessera-cluster-network';

export type WebhookTarget = { url: string } | { service: { namespace: string; name: string; port: number } };

export function renderClusterWebhookConfiguration(target: WebhookTarget, caBundlePem: string): object {
  const clientConfig =
    'url' in target
      ? { url: `${target.url}${clusterValidationPath}`, caBundle: Buffer.from(caBundlePem).toString('base64') }
      : { service: { ...target.service, path: clusterValidationPath }, caBundle: Buffer.from(caBundlePem).toString('base64') };
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: webhookConfigurationName, labels: { 'app.kubernetes.io/managed-by': 'tessera' } },
    webhooks: [
      {
        name: 'cluster-network.tessera.dev',
        clientConfig,
        rules: [{ apiGroups: ['tessera.dev'], apiVersions: ['v1alpha1'], resources: ['clusters'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' }],
        failurePolicy: 'Ignore',
        matchPolicy: 'Equivalent',
        sideEffects: 'None',
        timeoutSeconds: 5,
        admissionReviewVersions: ['v1'],
      },
    ],
  };
}
