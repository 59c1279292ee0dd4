// How the process runtime "pulls" an image: an image reference maps to a local executable. The
// upstream control-plane images map to the pinned binaries at the image's version; the demo
// echo server maps to a script of ours. Anything else cannot run here and says so.
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';

export type UpstreamComponent = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubectl';

export type ImageTarget =
  | { kind: 'upstream'; component: UpstreamComponent; version: string | undefined }
  | { kind: 'script'; entrypoint: string[] };

export type ParsedImage = { registry: string; repository: string; tag: string | undefined };

export function parseImage(image: string): ParsedImage {
  const withoutDigest = image.split('@')[0] ?? image;
  const slash = withoutDigest.indexOf('/');
  const first = slash >= 0 ? withoutDigest.slice(0, slash) : '';
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  const registry = hasRegistry ? first : 'docker.io';
  const rest = hasRegistry ? withoutDigest.slice(slash + 1) : withoutDigest;
  const colon = rest.lastIndexOf(':');
  return colon > rest.lastIndexOf('/') && colon >= 0
    ? { registry, repository: rest.slice(0, colon), tag: rest.slice(colon + 1) }
    : { registry, repository: rest, tag: undefined };
}

const upstreamImages: Record<string, UpstreamComponent> = {
  'registry.k8s.io/etcd': 'etcd',
  'registry.k8s.io/kube-apiserver': 'kube-apiserver',
  'registry.k8s.io/kube-controller-manager': 'kube-controller-manager',
  'registry.k8s.io/kube-scheduler': 'kube-scheduler',
  'registry.k8s.io/kubectl': 'kubectl',
};

const echoServerScript = fileURLToPath(new URL('./images/echo-server.ts', import.meta.url));

export const knownImages = [...Object.keys(upstreamImages), 'tessera.dev/echo-server'];

/** Undefined means the image cannot run on this runtime. */
export function resolveImage(image: string): ImageTarget | undefined {
  const parsed = parseImage(image);
  const name = `${parsed.registry}/${parsed.repository}`;
  const component = upstreamImages[name];
  if (component) {
    // Image tags are `v1.37.2` for Kubernetes and `3.7.3-0` for etcd; binaries are by version.
    const version = parsed.tag?.replace(/^v/, '').replace(/-\d+$/, '');
    return { kind: 'upstream', component, version };
  }
  if (name === 'tessera.dev/echo-server') return { kind: 'script', entrypoint: [process.execPath, echoServerScript] };
  return undefined;
}

export function imageNotFoundMessage(image: string): string {
  return `image "${image}" is not available on the Tessera process runtime (no container runtime here); known images: ${knownImages.join(', ')}`;
}

export const runtimeDirectory = dirname(fileURLToPath(import.meta.url));
