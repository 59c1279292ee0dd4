// Test harness for guest clusters on a meta cluster driven through the CLI: reading Clusters and
// their conditions, the guests' kubeconfigs, and kubectl against a guest.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, type MetaClusterCli } from './meta-cluster-cli.ts';
import { probeReadyz, type GuestCredentials } from '../../src/operators/cluster/guest-access.ts';

export type Condition = { type: string; status: string; reason: string; message: string; observedGeneration?: number };
export type ClusterObject = {
  metadata: { name: string; generation?: number };
  spec: { version: string };
  status?: {
    phase?: string;
    endpoint?: string;
    adminKubeconfigSecret?: string;
    observedGeneration?: number;
    conditions?: Condition[];
    versions?: Record<string, string>;
    etcdMembers?: { name: string; id?: string; ready: boolean }[];
  };
};

export function run(command: string, args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(command, args, { timeout: timeoutMs }, (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr })),
  );
}

export const conditionOf = (object: ClusterObject | undefined, type: string): Condition | undefined => object?.status?.conditions?.find((condition) => condition.type === type);
export const isReady = (object: ClusterObject | undefined): boolean => conditionOf(object, 'Ready')?.status === 'True';
/** Ready, and the status is about the current spec (observedGeneration caught up). */
export const isReadyAtGeneration = (object: ClusterObject): boolean => isReady(object) && object.status?.observedGeneration === object.metadata.generation;

/** The containers of a pod spec, sidecars (init containers) included, with their images. */
export type PodSpecOfImages = { initContainers?: { name: string; image: string }[]; containers: { name: string; image: string }[] };

/** The image of the container named `container`, a sidecar or not. */
export const containerImage = (spec: PodSpecOfImages, container: string): string | undefined => [...(spec.initContainers ?? []), ...spec.containers].find((c) => c.name === container)?.image;

export class GuestClusters {
  readonly meta: MetaClusterCli;
  private readonly kubectlBinary: string;

  constructor(meta: MetaClusterCli, kubectlBinary: string) {
    this.meta = meta;
    this.kubectlBinary = kubectlBinary;
  }

  get(name: string): Promise<ClusterObject> {
    return this.meta.kubectlJson<ClusterObject>('get', 'cluster', name);
  }

  /** Waits until `check` holds for the Cluster, and returns it. A timeout names the conditions that held it. */
  waitFor(name: string, what: string, check: (object: ClusterObject) => boolean, timeoutMs = 240_000): Promise<ClusterObject> {
    return eventually(`Cluster ${name}: ${what}`, async () => {
      const object = await this.get(name);
      return check(object) ? object : undefined;
    }, timeoutMs, 500).catch(async (error: unknown) => {
      throw new Error(`${(error as Error).message}; ${await this.heldBy(name)}`, { cause: error });
    });
  }

  /** The Cluster's conditions that are not True, with reasons and messages: what holds it back. */
  async heldBy(name: string): Promise<string> {
    const object = await this.get(name).catch((error: unknown) => (error as Error).message);
    if (typeof object === 'string') return `the Cluster could not be read: ${object}`;
    const pending = (object.status?.conditions ?? []).filter((condition) => condition.status !== 'True');
    const generation = `observedGeneration ${object.status?.observedGeneration ?? 'none'} of ${object.metadata.generation ?? '?'}`;
    return `${generation}; conditions not True: ${pending.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`).join('; ') || 'none'}`;
  }

  waitReady(name: string, timeoutMs = 240_000): Promise<ClusterObject> {
    return this.waitFor(name, 'Ready', isReadyAtGeneration, timeoutMs);
  }

  async secretData(name: string, key: string): Promise<string> {
    const secret = await this.meta.kubectlJson<{ data: Record<string, string> }>('get', 'secret', name);
    return Buffer.from(secret.data[key] ?? '', 'base64').toString('utf8');
  }

  /** Writes the kubeconfig in Secret `secretName` to a file and returns its path. */
  async kubeconfig(secretName: string): Promise<string> {
    const path = join(this.meta.home, `${secretName}.kubeconfig`);
    await writeFile(path, await this.secretData(secretName, 'kubeconfig'));
    return path;
  }

  kubectl(kubeconfig: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return run(this.kubectlBinary, ['--kubeconfig', kubeconfig, ...args]);
  }

  async patch(name: string, patch: object): Promise<void> {
    await this.meta.kubectl('patch', 'cluster', name, '--type=merge', '-p', JSON.stringify(patch));
  }

  /** The image of `container` in the guest's control-plane Deployment: what its pods are rolled to. */
  async controlPlaneImage(name: string, container: string): Promise<string | undefined> {
    const deployment = await this.meta.kubectlJson<{ spec: { template: { spec: PodSpecOfImages } } }>('get', 'deployment', `${name}-control-plane`);
    return containerImage(deployment.spec.template.spec, container);
  }

  /** The image of `container` in each of the guest's control-plane pods not being deleted. */
  async controlPlanePodImages(name: string, container: string): Promise<string[]> {
    const pods = await this.meta.kubectlJson<{ items: { metadata: { deletionTimestamp?: string }; spec: PodSpecOfImages }[] }>('get', 'pods', '-l', `tessera.dev/cluster=${name},tessera.dev/component=control-plane`);
    return pods.items.filter((pod) => !pod.metadata.deletionTimestamp).map((pod) => containerImage(pod.spec, container) ?? '');
  }

  /** Event reasons and messages about the Cluster, oldest first. */
  async events(name: string): Promise<{ reason: string; message: string }[]> {
    const list = await this.meta.kubectlJson<{ items: MetaEvent[] }>('get', 'events', '--field-selector', `involvedObject.name=${name},involvedObject.kind=Cluster`);
    return oldestFirst(list.items, (event) => event.firstTimestamp).map((event) => ({ reason: event.reason, message: event.message }));
  }

  /** The meta cluster's Events about every object of the guest (named `<name>...`), oldest first, one line each. */
  async timeline(name: string): Promise<string> {
    const list = await this.meta.kubectlJson<{ items: MetaEvent[] }>('get', 'events');
    const at = (event: MetaEvent) => event.lastTimestamp ?? event.eventTime ?? event.metadata.creationTimestamp;
    return oldestFirst(list.items.filter((event) => event.involvedObject.name.startsWith(name)), (event) => event.lastTimestamp ?? event.eventTime)
      .map((event) => `${at(event)} ${event.involvedObject.kind}/${event.involvedObject.name} ${event.reason}: ${event.message}`)
      .join('\n');
  }
}

type MetaEvent = { reason: string; message: string; firstTimestamp?: string; lastTimestamp?: string; eventTime?: string; metadata: { creationTimestamp: string }; involvedObject: { kind: string; name: string } };

/** Events sorted by `time` (their creation when it is absent), oldest first. */
function oldestFirst(events: MetaEvent[], time: (event: MetaEvent) => string | undefined): MetaEvent[] {
  const at = (event: MetaEvent) => time(event) ?? event.metadata.creationTimestamp;
  return [...events].sort((a, b) => at(a).localeCompare(at(b)));
}

/** Probes a guest's /readyz through its endpoint every `intervalMs` until stopped: how often, and what failed when. */
export function watchReadyz(endpoint: string, credentials: GuestCredentials, intervalMs = 250): { stop(): Promise<{ probes: number; failures: string[] }> } {
  const failures: string[] = [];
  let probes = 0;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const result = await probeReadyz(endpoint, credentials);
      probes++;
      if (!result.ready) failures.push(`${new Date().toISOString()} ${result.detail}`);
      // Unref'd: a test that failed before stop() must not be kept alive by its watcher.
      await new Promise((resolve) => setTimeout(resolve, intervalMs).unref());
    }
  })();
  return {
    stop: async () => {
      watching = false;
      await watcher;
      return { probes, failures };
    },
  };
}
