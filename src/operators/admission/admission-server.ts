// The HTTPS endpoint the API server calls for Cluster admission. It reads the other Clusters
// from a cache (an informer), so a review costs no API request.
import { createServer, type Server } from 'node:https';
import { reviewClusterNetwork, type AdmissionReview, type ClusterLike } from './cluster-network-review.ts';

export const clusterValidationPath = '/validate/tessera.dev/v1alpha1/clusters';

export type AdmissionServerOptions = {
  host: string;
  port: number;
  certPem: string;
  keyPem: string;
  clusters: () => readonly ClusterLike[];
  onError?: (error: unknown) => void;
};

export async function startAdmissionServer(options: AdmissionServerOptions): Promise<Server & { port: number }> {
  const server = createServer({ cert: options.certPem, key: options.keyPem }, (request, response) => {
    if (request.method !== 'POST' || request.url?.split('?')[0] !== clusterValidationPath) {
      response.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      try {
        const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdmissionReview;
        const answer = reviewClusterNetwork(review, options.clusters());
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      } catch (error) {
        options.onError?.(error);
        response.writeHead(400, { 'content-type': 'text/plain' }).end(`malformed AdmissionReview: ${(error as Error).message}`);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address();
  return Object.assign(server, { port: typeof address === 'object' && address ? address.port : options.port });
}
