// The lifecycle of one pod on one node, as the kubelet runs it: a sandbox (pod IP, hostname,
// /etc/hosts, resolv.conf), volumes, init containers in order, then the containers with restart
// policy and crash backoff, probes, status reports, and graceful termination. One worker per pod;
// its loop is level-triggered: every pass compares what runs with what the pod asks for.
import type { V1Pod, V1Container, V1PersistentVolume } from '@kubernetes/client-node';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RestClient } from '../../controller/rest-client.ts';
import { isNotFound } from '../../controller/rest-client.ts';
import type { EventRecorder, EventTarget } from '../../controller/events.ts';
import { containerEnvironment, apiLookup, expandReferences } from './environment.ts';
import { materialiseVolume, type MaterialisedVolume } from './volumes.ts';
import { isRunning, readExit, readRun, startContainer, stopContainer, commandPid, type ContainerRun, type Mount } from './container-process.ts';
import { resolveImage, imageNotFoundMessage, type ImageTarget } from './images.ts';
import { runProbe, runLifecycleHook } from './probes.ts';
import { computePodStatus, isSidecar, type ContainerView } from './pod-status.ts';
import { semanticEqual } from '../../controller/status.ts';

export type Executable = { entrypoint: string[]; searchPath: string[] };

export type PodWorkerContext = {
  client: RestClient;
  events: EventRecorder;
  nodeName: string;
  hostIP: string;
  podsDirectory: string;
  allocateAddress: (podUid: string) => string;
  releaseAddress: (podUid: string) => void;
  /** Makes an image's executable available (may download or build: a long operation). */
  resolveExecutable: (target: ImageTarget) => Promise<Executable>;
  serviceEnvironment: () => Record<string, string>;
  nameserver: string;
  clusterDomain: string;
  persistentVolumePath: (pv: V1PersistentVolume) => string | undefined;
  onError: (error: unknown) => void;
};

const tickMs = 250;
/**
 * Until a container passes its startup probe and is first ready, its probes run this often (the
 * spec's periodSeconds still applies afterwards, and a startup probe still counts at most one
 * failure per period). A kubelet waits a whole period between probes, so a pod whose server comes
 * up just after a probe is reported a second late; the control planes Tessera hosts are waited on
 * through exactly this readiness, so the runtime finds out within a tenth of a second.
 */
const firstReadinessProbeMs = 100;
/** How long a pass waits for an image before leaving its pull to the background. */
const imageAtHandMs = 50;
const volumeRefreshMs = 10_000;
const initialBackoffMs = 1_000;
const maximumBackoffMs = 60_000;

type ProbeState = { due: number; successes: number; failures: number; countedAt: number };

type ContainerState = {
  container: V1Container;
  init: boolean;
  restartCount: number;
  run: ContainerRun | undefined;
  view: ContainerView['state'];
  lastTerminated: ContainerView['lastTerminated'];
  backoffMs: number;
  notBefore: number;
  ready: boolean;
  /** Ready at least once since this run started: from then on probes keep their period. */
  everReady: boolean;
  started: boolean;
  readiness: ProbeState;
  liveness: ProbeState;
  startup: ProbeState;
  executable: Executable | undefined;
  resolving: boolean;
  /** Whether the run recorded on disk (from before a runtime restart) was looked at. */
  adopted: boolean;
};

type Persisted = { podIP: string; startTime: string; restartCounts: Record<string, number>; lastTerminated: Record<string, ContainerView['lastTerminated']>; done: Record<string, ContainerView['state']> };

/** Whether a container was ever started (or tried): its pod has finished initialising. */
function hasStarted(state: ContainerState): boolean {
  return state.run !== undefined || state.restartCount > 0 || state.view.kind !== 'waiting' || state.view.reason !== 'ContainerCreating';
}

export class PodWorker {
  private pod: V1Pod;
  private readonly context: PodWorkerContext;
  private readonly directory: string;
  private readonly containers = new Map<string, ContainerState>();
  private persisted: Persisted | undefined;
  private volumes: MaterialisedVolume[] | undefined;
  private volumesAt = 0;
  private volumeError: string | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private lastStatus: unknown;
  private failed = false;
  private step = 'idle';
  private sandboxWritten = false;
  /** Set when something asked for a pass while one was running, so that pass is not lost. */
  private wakeRequested = false;
  finished = false;

  constructor(pod: V1Pod, context: PodWorkerContext) {
    this.pod = pod;
    this.context = context;
    this.directory = join(context.podsDirectory, pod.metadata?.uid ?? 'unknown');
  }

  get uid(): string {
    return this.pod.metadata?.uid ?? '';
  }

  private get target(): EventTarget {
    return { apiVersion: 'v1', kind: 'Pod', name: this.pod.metadata?.name ?? '', namespace: this.pod.metadata?.namespace, uid: this.pod.metadata?.uid };
  }

  update(pod: V1Pod): void {
    this.pod = pod;
    this.requestPass();
  }

  private requestPass(): void {
    if (this.wake) this.wake();
    else this.wakeRequested = true;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops the worker's loop but leaves its processes running (runtime shutdown or restart). */
  async detach(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped && !this.finished) {
      // A pass that takes long is reported with the step it is in: a stuck pod must be visible.
      const started = Date.now();
      const watchdog = setInterval(() => this.context.onError(new Error(`pod ${this.pod.metadata?.namespace}/${this.pod.metadata?.name}: sync busy for ${Math.round((Date.now() - started) / 1000)}s in step "${this.step}"`)), 15_000);
      try {
        await this.sync();
      } catch (error) {
        this.context.onError(error);
      } finally {
        clearInterval(watchdog);
      }
      if (this.finished) break;
      if (this.wakeRequested) {
        this.wakeRequested = false;
        continue;
      }
      await Promise.race([sleep(this.awaitingFirstReadiness() ? firstReadinessProbeMs : tickMs), new Promise<void>((resolve) => (this.wake = resolve))]);
      this.wake = undefined;
    }
  }

  /** Whether a running container has a startup or readiness probe it has not passed yet. */
  private awaitingFirstReadiness(): boolean {
    return [...this.containers.values()].some((state) => state.run !== undefined && ((!state.started && state.container.startupProbe) || (!state.everReady && state.container.readinessProbe)));
  }

  private async loadPersisted(): Promise<Persisted> {
    if (this.persisted) return this.persisted;
    await mkdir(this.directory, { recursive: true });
    try {
      this.persisted = JSON.parse(await readFile(join(this.directory, 'pod.json'), 'utf8')) as Persisted;
    } catch {
      this.persisted = { podIP: this.context.allocateAddress(this.uid), startTime: new Date().toISOString(), restartCounts: {}, lastTerminated: {}, done: {} };
      await this.savePersisted();
    }
    return this.persisted;
  }

  private async savePersisted(): Promise<void> {
    if (!this.persisted) return;
    for (const [name, state] of this.containers) {
      this.persisted.restartCounts[name] = state.restartCount;
      this.persisted.lastTerminated[name] = state.lastTerminated;
      if (state.view.kind === 'terminated' && !state.run) this.persisted.done[name] = state.view;
    }
    await writeFile(join(this.directory, 'pod.json'), JSON.stringify(this.persisted));
  }

  private hostname(): string {
    return this.pod.spec?.hostname ?? this.pod.metadata?.name ?? 'pod';
  }

  private async writeSandboxFiles(podIP: string): Promise<void> {
    const namespace = this.pod.metadata?.namespace ?? 'default';
    const domain = this.context.clusterDomain;
    const hostname = this.hostname();
    const subdomain = this.pod.spec?.subdomain;
    const fqdn = subdomain ? `${hostname}.${subdomain}.${namespace}.svc.${domain}` : '';
    const hosts = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `${podIP}\t${[fqdn, hostname].filter(Boolean).join(' ')}`];
    for (const alias of this.pod.spec?.hostAliases ?? []) hosts.push(`${alias.ip}\t${(alias.hostnames ?? []).join(' ')}`);
    await writeFile(join(this.directory, 'hosts'), `${hosts.join('\n')}\n`);
    const search = [`${namespace}.svc.${domain}`, `svc.${domain}`, domain].join(' ');
    await writeFile(join(this.directory, 'resolv.conf'), `nameserver ${this.context.nameserver}\nsearch ${search}\noptions ndots:5\n`);
  }

  private stateFor(container: V1Container, init: boolean, persisted: Persisted): ContainerState {
    let state = this.containers.get(container.name);
    if (!state) {
      const done = persisted.done[container.name];
      state = {
        container,
        init,
        restartCount: persisted.restartCounts[container.name] ?? 0,
        run: undefined,
        view: done ?? { kind: 'waiting', reason: 'ContainerCreating' },
        lastTerminated: persisted.lastTerminated[container.name],
        backoffMs: initialBackoffMs,
        notBefore: 0,
        ready: false,
        everReady: false,
        started: false,
        readiness: { due: 0, successes: 0, failures: 0, countedAt: 0 },
        liveness: { due: 0, successes: 0, failures: 0, countedAt: 0 },
        startup: { due: 0, successes: 0, failures: 0, countedAt: 0 },
        executable: undefined,
        resolving: false,
        adopted: false,
      };
      this.containers.set(container.name, state);
    }
    state.container = container;
    return state;
  }

  private containerDirectory(name: string): string {
    return join(this.directory, 'containers', name);
  }

  private async sync(): Promise<void> {
    const pod = this.pod;
    if (pod.metadata?.deletionTimestamp) {
      this.step = 'terminate';
      await this.terminate();
      return;
    }
    const persisted = await this.loadPersisted();
    const podIP = persisted.podIP;
    if (!this.sandboxWritten) {
      await this.writeSandboxFiles(podIP);
      this.sandboxWritten = true;
    }
    const spec = pod.spec ?? { containers: [] };
    const inits = (spec.initContainers ?? []).map((c) => this.stateFor(c, true, persisted));
    const mains = spec.containers.map((c) => this.stateFor(c, false, persisted));
    this.step = 'adopt';
    for (const state of [...inits, ...mains]) await this.adopt(state);
    this.step = 'volumes';

    if (!this.volumes || Date.now() - this.volumesAt > volumeRefreshMs) await this.refreshVolumes(podIP);

    this.step = 'containers';
    if (this.volumes && !this.failed) {
      // Init containers run one by one. A sidecar (restartPolicy Always) is done once it has
      // started (passed its startup probe) and then runs beside the containers for the pod's
      // life; once the containers have started, a sidecar that restarts holds nothing back.
      const initialized = mains.some(hasStarted);
      let initsDone = true;
      for (const state of inits) {
        const sidecar = isSidecar(state.container);
        if (!sidecar && (initialized || (state.view.kind === 'terminated' && state.view.exitCode === 0 && !state.run))) continue;
        await this.driveContainer(state, podIP);
        if (sidecar && (initialized || (state.run && state.started))) continue;
        initsDone = false;
        break;
      }
      if (initsDone || initialized) for (const state of mains) await this.driveContainer(state, podIP);
    }
    this.step = 'status';
    await this.reportStatus(podIP, persisted, inits, mains);
    this.step = 'idle';
  }

  /** After a runtime restart, pick up the recorded run of a container, running or not. */
  private async adopt(state: ContainerState): Promise<void> {
    if (state.adopted) return;
    state.adopted = true;
    if (state.run) return;
    const run = await readRun(this.containerDirectory(state.container.name));
    if (!run || (this.persisted?.done[state.container.name] && !isRunning(run))) return;
    state.run = run;
    state.view = { kind: 'running', startedAt: run.startedAt, containerID: run.containerID };
    state.started = !state.container.startupProbe;
  }

  private async refreshVolumes(podIP: string): Promise<void> {
    const volumes: MaterialisedVolume[] = [];
    const podForVolumes: V1Pod = { ...this.pod, status: { ...this.pod.status, podIP, podIPs: [{ ip: podIP }] } };
    try {
      for (const volume of this.pod.spec?.volumes ?? []) {
        volumes.push(await materialiseVolume(volume, { client: this.context.client, pod: podForVolumes, podDirectory: this.directory, persistentVolumePath: this.context.persistentVolumePath }));
      }
      this.volumes = volumes;
      this.volumesAt = Date.now();
      this.volumeError = undefined;
    } catch (error) {
      const message = (error as Error).message;
      if (message !== this.volumeError) this.context.events.warning(this.target, 'FailedMount', message);
      this.volumeError = message;
    }
  }

  private async executableFor(state: ContainerState): Promise<Executable | undefined> {
    if (state.executable) return state.executable;
    const image = state.container.image ?? '';
    const target = resolveImage(image);
    if (!target) {
      const message = imageNotFoundMessage(image);
      if (state.view.kind !== 'waiting' || state.view.reason !== 'ErrImagePull') this.context.events.warning({ ...this.target, fieldPath: `spec.containers{${state.container.name}}` }, 'Failed', `Failed to pull image "${image}": ${message}`);
      state.view = { kind: 'waiting', reason: 'ErrImagePull', message };
      return undefined;
    }
    if (state.resolving) return undefined;
    state.resolving = true;
    this.context.events.normal({ ...this.target, fieldPath: `spec.containers{${state.container.name}}` }, 'Pulling', `Pulling image "${image}"`);
    const resolution = this.context
      .resolveExecutable(target)
      .then((executable) => {
        state.executable = executable;
        this.context.events.normal({ ...this.target, fieldPath: `spec.containers{${state.container.name}}` }, 'Pulled', `Image "${image}" is ready at ${executable.entrypoint[0]}`);
        return executable;
      })
      .catch((error: unknown) => {
        state.view = { kind: 'waiting', reason: 'ErrImagePull', message: (error as Error).message };
        this.context.events.warning(this.target, 'Failed', `Failed to pull image "${image}": ${(error as Error).message}`);
      })
      .finally(() => {
        state.resolving = false;
        this.requestPass();
      });
    // An image already at hand (the binaries are cached) starts in this pass, not the next:
    // a long pull goes on in the background and wakes the worker when it is done.
    const soon = await Promise.race([resolution, sleep(imageAtHandMs).then(() => undefined)]);
    return soon ? soon : undefined;
  }

  private restartAllowed(state: ContainerState, exitCode: number): boolean {
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    // Init containers run to completion: they are retried after a failure unless the pod says Never.
    if (state.init) return isSidecar(state.container) || (policy !== 'Never' && exitCode !== 0);
    if (policy === 'Always') return true;
    if (policy === 'OnFailure') return exitCode !== 0;
    return false;
  }

  private async driveContainer(state: ContainerState, podIP: string): Promise<void> {
    const name = state.container.name;
    const fieldTarget = { ...this.target, fieldPath: `spec.${state.init ? 'initContainers' : 'containers'}{${name}}` };
    if (state.run) {
      if (isRunning(state.run)) {
        await this.probe(state, podIP, fieldTarget);
        return;
      }
      await this.recordExit(state, fieldTarget);
      return;
    }
    if (state.view.kind === 'terminated') return; // finished for good under the restart policy
    if (state.view.kind === 'waiting' && state.view.reason === 'CrashLoopBackOff') {
      if (Date.now() < state.notBefore) return;
      // Count the restart once, when the backoff ends, however long the start then takes.
      state.restartCount++;
      state.view = { kind: 'waiting', reason: 'ContainerCreating' };
    }
    const executable = await this.executableFor(state);
    if (!executable || !this.volumes) return;
    await this.launch(state, executable, podIP, fieldTarget);
  }

  private async recordExit(state: ContainerState, fieldTarget: EventTarget): Promise<void> {
    const run = state.run;
    if (!run) return;
    const exit = await readExit(run);
    state.run = undefined;
    state.ready = false;
    state.started = false;
    const terminated = { exitCode: exit.exitCode, reason: exit.reason, startedAt: run.startedAt, finishedAt: exit.finishedAt, containerID: run.containerID };
    if (Date.parse(exit.finishedAt) - Date.parse(run.startedAt) > 600_000) state.backoffMs = initialBackoffMs;
    if (this.restartAllowed(state, exit.exitCode)) {
      state.lastTerminated = terminated;
      state.notBefore = Date.now() + state.backoffMs;
      state.view = { kind: 'waiting', reason: 'CrashLoopBackOff', message: `back-off ${Math.round(state.backoffMs / 1000)}s restarting container ${state.container.name} (exit code ${exit.exitCode})` };
      this.context.events.warning(fieldTarget, 'BackOff', `Back-off ${Math.round(state.backoffMs / 1000)}s restarting container ${state.container.name}, which exited with code ${exit.exitCode}`);
      state.backoffMs = Math.min(state.backoffMs * 2, maximumBackoffMs);
    } else {
      state.view = { kind: 'terminated', ...terminated };
      if (exit.exitCode !== 0 && state.init) this.failed = true;
    }
    await this.savePersisted();
  }

  private async launch(state: ContainerState, executable: Executable, podIP: string, fieldTarget: EventTarget): Promise<void> {
    const container = state.container;
    const podWithIP: V1Pod = { ...this.pod, status: { ...this.pod.status, podIP, podIPs: [{ ip: podIP }], hostIP: this.context.hostIP, hostIPs: [{ ip: this.context.hostIP }] } };
    let env: Record<string, string>;
    try {
      env = await containerEnvironment(podWithIP, container, apiLookup(this.context.client, this.pod.metadata?.namespace ?? 'default'), this.context.serviceEnvironment());
    } catch (error) {
      state.view = { kind: 'waiting', reason: 'CreateContainerConfigError', message: (error as Error).message };
      this.context.events.warning(fieldTarget, 'Failed', `Error: ${(error as Error).message}`);
      return;
    }
    const command = container.command?.length ? container.command.map((part) => expandReferences(part, env)) : executable.entrypoint;
    const args = (container.args ?? []).map((part) => expandReferences(part, env));
    // A command that names a binary the image provides (by name or by its path in the image)
    // runs that binary; anything else (sh, env, ...) comes from the host.
    const first = command[0] ?? '';
    const base = first.split('/').pop() ?? first;
    const entry = executable.entrypoint[0] ?? '';
    const argv = container.command?.length && base === (entry.split('/').pop() ?? '') ? [entry, ...command.slice(1), ...args] : [...command, ...args];
    const fullEnv: Record<string, string> = {
      PATH: [...executable.searchPath, '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(':'),
      HOSTNAME: this.hostname(),
      HOME: '/root',
      ...env,
    };
    const mounts: Mount[] = [
      { source: join(this.directory, 'hosts'), target: '/etc/hosts', readOnly: false },
      { source: join(this.directory, 'resolv.conf'), target: '/etc/resolv.conf', readOnly: false },
    ];
    for (const mount of container.volumeMounts ?? []) {
      const volume = this.volumes?.find((v) => v.name === mount.name);
      if (!volume) {
        state.view = { kind: 'waiting', reason: 'CreateContainerConfigError', message: `volumeMount "${mount.name}" names no volume of the pod` };
        return;
      }
      const source = mount.subPath ? join(volume.path, mount.subPath) : volume.path;
      if (mount.subPath) await mkdir(source, { recursive: true });
      mounts.push({ source, target: mount.mountPath, readOnly: mount.readOnly ?? volume.readOnly });
    }
    const directory = this.containerDirectory(container.name);
    await mkdir(directory, { recursive: true });
    try {
      state.run = await startContainer({ containerDirectory: directory, name: container.name, attempt: state.restartCount, argv, env: fullEnv, workingDir: container.workingDir, hostname: this.hostname(), mounts });
    } catch (error) {
      state.view = { kind: 'waiting', reason: 'RunContainerError', message: (error as Error).message };
      this.context.events.warning(fieldTarget, 'Failed', `Error: ${(error as Error).message}`);
      return;
    }
    state.view = { kind: 'running', startedAt: state.run.startedAt, containerID: state.run.containerID };
    state.started = !container.startupProbe;
    state.ready = false;
    state.everReady = false;
    const now = Date.now();
    state.readiness = { due: now + (container.readinessProbe?.initialDelaySeconds ?? 0) * 1000, successes: 0, failures: 0, countedAt: 0 };
    state.liveness = { due: now + (container.livenessProbe?.initialDelaySeconds ?? 0) * 1000, successes: 0, failures: 0, countedAt: 0 };
    state.startup = { due: now + (container.startupProbe?.initialDelaySeconds ?? 0) * 1000, successes: 0, failures: 0, countedAt: 0 };
    this.context.events.normal(fieldTarget, 'Started', `Started container ${container.name}`);
    await this.savePersisted();
  }

  private async probe(state: ContainerState, podIP: string, fieldTarget: EventTarget): Promise<void> {
    const container = state.container;
    const run = state.run;
    if (!run) return;
    const now = Date.now();
    const execPid = () => commandPid(run);
    if (!state.started) {
      const probe = container.startupProbe;
      if (!probe) state.started = true;
      else if (now >= state.startup.due) {
        const periodMs = (probe.periodSeconds ?? 10) * 1000;
        state.startup.due = now + Math.min(periodMs, firstReadinessProbeMs);
        const result = await runProbe(probe, container, podIP, execPid);
        // Probed more often than the period: a failure counts once per period, as the threshold means.
        const counts = !result.success && now >= state.startup.countedAt + periodMs;
        if (counts) {
          state.startup.countedAt = now;
          state.startup.failures++;
        }
        if (result.success) state.started = true;
        else if (counts && state.startup.failures >= (probe.failureThreshold ?? 3)) {
          this.context.events.warning(fieldTarget, 'Unhealthy', `Startup probe failed: ${result.message}`);
          await this.restartForProbe(state, fieldTarget, 'startup');
        }
      }
      if (!state.started) return;
      state.readiness.due = Math.min(state.readiness.due, now);
    }
    const readiness = container.readinessProbe;
    if (!readiness) state.ready = !state.init || isSidecar(container);
    else if (now >= state.readiness.due) {
      const periodMs = (readiness.periodSeconds ?? 10) * 1000;
      state.readiness.due = now + (state.everReady ? periodMs : Math.min(periodMs, firstReadinessProbeMs));
      const result = await runProbe(readiness, container, podIP, execPid);
      if (result.success) {
        state.readiness.failures = 0;
        if (++state.readiness.successes >= (readiness.successThreshold ?? 1)) state.ready = state.everReady = true;
      } else {
        state.readiness.successes = 0;
        if (++state.readiness.failures >= (readiness.failureThreshold ?? 3) || !state.ready) {
          if (state.ready) this.context.events.warning(fieldTarget, 'Unhealthy', `Readiness probe failed: ${result.message}`);
          state.ready = false;
        }
      }
    }
    const liveness = container.livenessProbe;
    if (liveness && now >= state.liveness.due) {
      state.liveness.due = now + (liveness.periodSeconds ?? 10) * 1000;
      const result = await runProbe(liveness, container, podIP, execPid);
      if (result.success) state.liveness.failures = 0;
      else if (++state.liveness.failures >= (liveness.failureThreshold ?? 3)) {
        this.context.events.warning(fieldTarget, 'Unhealthy', `Liveness probe failed: ${result.message}`);
        await this.restartForProbe(state, fieldTarget, 'liveness');
      }
    }
  }

  private async restartForProbe(state: ContainerState, fieldTarget: EventTarget, which: string): Promise<void> {
    if (!state.run) return;
    this.context.events.normal(fieldTarget, 'Killing', `Container ${state.container.name} failed ${which} probe, will be restarted`);
    await stopContainer(state.run, (this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000);
  }

  private async reportStatus(podIP: string, persisted: Persisted, inits: ContainerState[], mains: ContainerState[]): Promise<void> {
    const view = (state: ContainerState): ContainerView => ({
      name: state.container.name,
      image: state.container.image ?? '',
      restartCount: state.restartCount,
      state: this.volumeError && state.view.kind === 'waiting' && state.view.reason === 'ContainerCreating' ? { kind: 'waiting', reason: 'ContainerCreating', message: this.volumeError } : state.view,
      lastTerminated: state.lastTerminated,
      ready: state.ready,
      started: state.started,
    });
    const status = computePodStatus(
      { pod: this.pod, podIP, hostIP: this.context.hostIP, startTime: persisted.startTime, sandboxReady: true, initContainers: inits.map(view), containers: mains.map(view), failed: this.failed },
      new Date().toISOString(),
    );
    const current = { ...this.pod.status };
    // A converged pod costs no write; fields the server drops when empty do not count.
    if (semanticEqual(status, current) || semanticEqual(status, this.lastStatus)) return;
    const namespace = this.pod.metadata?.namespace ?? 'default';
    try {
      await this.context.client.patch(`/api/v1/namespaces/${namespace}/pods/${this.pod.metadata?.name}/status`, { metadata: { uid: this.pod.metadata?.uid }, status }, 'merge');
      this.lastStatus = status;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  private async terminate(): Promise<void> {
    const grace = (this.pod.metadata?.deletionGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
    for (const state of this.containers.values()) if (!state.run) await this.adopt(state);
    const started = Date.now();
    // Sidecars stop after the containers, as the kubelet stops them: what they serve is needed until then.
    const [sidecars, others] = [[...this.containers.values()].filter((s) => isSidecar(s.container)), [...this.containers.values()].filter((s) => !isSidecar(s.container))];
    for (const group of [others, sidecars]) await this.stopAll(group, Math.max(0, grace - (Date.now() - started)));
    const namespace = this.pod.metadata?.namespace ?? 'default';
    try {
      await this.context.client.delete(`/api/v1/namespaces/${namespace}/pods/${this.pod.metadata?.name}`, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid: this.pod.metadata?.uid } });
    } catch (error) {
      if (!isNotFound(error) && !(error instanceof Error && error.message.includes('409'))) throw error;
    }
    await this.cleanup();
  }

  /** Runs the preStop hooks of `states` and stops them side by side, within `grace` (what is left of the pod's). */
  private async stopAll(states: ContainerState[], grace: number): Promise<void> {
    await Promise.all(
      states.filter((s) => s.run).map(async (state) => {
        const started = Date.now();
        const run = state.run;
        // The preStop hook runs first, within the grace period, as the kubelet runs it.
        const preStop = state.container.lifecycle?.preStop;
        if (preStop && run) await runLifecycleHook(preStop, state.container, this.pod.status?.podIP ?? '', () => commandPid(run), grace);
        this.context.events.normal({ ...this.target, fieldPath: `spec.${state.init ? 'initContainers' : 'containers'}{${state.container.name}}` }, 'Killing', `Stopping container ${state.container.name}`);
        if (state.run) await stopContainer(state.run, Math.max(1000, grace - (Date.now() - started)));
        state.run = undefined;
      }),
    );
  }

  /** Stops every process and removes the pod's directory; the pod is gone from the API. */
  async cleanup(): Promise<void> {
    for (const name of await readdir(join(this.directory, 'containers')).catch(() => [] as string[])) {
      const run = await readRun(this.containerDirectory(name));
      if (run) await stopContainer(run, 2_000);
    }
    this.context.releaseAddress(this.uid);
    await rm(this.directory, { recursive: true, force: true });
    this.finished = true;
  }
}

