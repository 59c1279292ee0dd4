// Leader election on a coordination.k8s.io/v1 Lease, ported from client-go's
// tools/leaderelection. Only the leader runs controllers; the others wait, ready to take over.
//
// - Acquire: every retryPeriod (with up to 1.2x jitter) read the Lease; take it when it is free
//   or has expired, writing it with the resourceVersion read, so only one candidate wins a race.
// - Expiry is judged by the local clock: a Lease counts as expired when its record has not
//   changed for leaseDuration since *we observed* the change, never by comparing the remote
//   renewTime with our clock (clocks of different machines disagree).
// - Renew: the leader rewrites renewTime every retryPeriod. When it cannot renew successfully
//   for renewDeadline, it stops leading; renewDeadline < leaseDuration, so it stops before any
//   other candidate may consider the Lease expired.
// - Release on stop: leading work is stopped first (onStoppedLeading is awaited), then the Lease
//   is handed back (empty holder), so a successor starts within one retryPeriod and never
//   overlaps with us. (client-go releases first and calls OnStoppedLeading after; it also calls
//   OnStoppedLeading when it never led. Here it is called only after leading.)
// Times are MicroTime strings with 6 fraction digits: the server rejects Lease times in the
// millisecond form a Date serialises to.
import { systemClock, sleep, type Clock } from './clock.ts';
import { silentLogger, type Logger } from './logger.ts';
import type { ControllerMetrics } from './metrics.ts';
import { isAlreadyExists, isConflict, isNotFound, resourcePath, type RestClient } from './rest-client.ts';

const jitterFactor = 1.2;

/** metav1.MicroTime's wire form: RFC 3339 with exactly six fraction digits, in UTC. */
export function formatMicroTime(time: Date | number): string {
  return new Date(time).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export type LeaseRecord = {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
};

type Lease = { metadata?: { name?: string; namespace?: string; resourceVersion?: string }; spec?: LeaseRecord };

export type LeaderElectionOptions = {
  client: RestClient;
  /** The Lease's namespace and name. */
  namespace: string;
  name: string;
  /** Unique per candidate, e.g. `${hostname}_${randomUUID()}`. */
  identity: string;
  /** How long a Lease stays valid after its last observed change; default 15s. */
  leaseDurationMs?: number;
  /** How long the leader keeps retrying a failing renewal before it gives up; default 10s. */
  renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew; default 2s. */
  retryPeriodMs?: number;
  /** Hand the Lease back on stop (default true), so a successor need not wait for it to expire. */
  releaseOnCancel?: boolean;
  /** Called on becoming leader; `signal` aborts when leadership ends. */
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /** Called (and awaited) when leadership ends, by stop or by a failed renewal: stop the controllers here. */
  onStoppedLeading?: () => void | Promise<void>;
  /** Called whenever the observed holder changes (also for other candidates). */
  onNewLeader?: (identity: string) => void;
  clock?: Clock;
  logger?: Logger;
  metrics?: ControllerMetrics;
};

export class LeaderElector {
  private readonly options: LeaderElectionOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly path: string;
  private observedRecord: LeaseRecord = {};
  private observedResourceVersion = '';
  private observedTime = 0;
  private reportedLeader = '';
  private leading = false;
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;

  constructor(options: LeaderElectionOptions) {
    const leaseDurationMs = options.leaseDurationMs ?? 15_000;
    const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    const retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!options.identity) throw new Error('leader election: identity is empty; give each candidate a unique identity');
    if (!options.namespace || !options.name) throw new Error('leader election: namespace and name of the Lease are required');
    if (!(retryPeriodMs > 0)) throw new Error(`leader election: retryPeriodMs must be > 0, got ${retryPeriodMs}`);
    if (!(leaseDurationMs > renewDeadlineMs)) throw new Error(`leader election: leaseDurationMs (${leaseDurationMs}) must be greater than renewDeadlineMs (${renewDeadlineMs})`);
    if (!(renewDeadlineMs > jitterFactor * retryPeriodMs)) throw new Error(`leader election: renewDeadlineMs (${renewDeadlineMs}) must be greater than ${jitterFactor} x retryPeriodMs (${retryPeriodMs})`);
    this.options = options;
    this.leaseDurationMs = leaseDurationMs;
    this.renewDeadlineMs = renewDeadlineMs;
    this.retryPeriodMs = retryPeriodMs;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger).child({ lease: `${options.namespace}/${options.name}`, identity: options.identity });
    this.path = resourcePath({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: options.namespace, name: options.name });
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder as last observed ("" when none). */
  getLeader(): string {
    return this.observedRecord.holderIdentity ?? '';
  }

  /**
   * Campaigns until leader, leads until stop() or a failed renewal, then returns. One elector
   * runs once: after it returns, create a new one (a lost leader should usually exit the process).
   */
  run(): Promise<void> {
    this.running ??= this.campaign();
    return this.running;
  }

  /** Ends leading or campaigning; waits for onStoppedLeading and the release of the Lease. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  private async campaign(): Promise<void> {
    if (!(await this.acquire())) return;
    const leadership = new AbortController();
    this.setLeading(true);
    this.logger.info('Became leader');
    // Not awaited: the leading work may run until the signal aborts, while renewals go on.
    Promise.resolve()
      .then(() => this.options.onStartedLeading(leadership.signal))
      .catch((error: unknown) => {
        this.logger.error('onStartedLeading failed; giving up leadership', { error });
        this.stopping.abort();
      });
    await this.renew();
    leadership.abort();
    const stoppedByUs = this.stopping.signal.aborted;
    this.setLeading(false);
    this.logger.info(stoppedByUs ? 'Stopped leading' : 'Lost leadership: could not renew the Lease within the renew deadline');
    try {
      await this.options.onStoppedLeading?.();
    } catch (error) {
      this.logger.error('onStoppedLeading failed', { error });
    }
    if (this.options.releaseOnCancel !== false) await this.release();
  }

  private async acquire(): Promise<boolean> {
    for (;;) {
      if (this.stopping.signal.aborted) return false;
      if (await this.tryAcquireOrRenew()) return true;
      await sleep(this.clock, this.retryPeriodMs * (1 + Math.random() * jitterFactor), this.stopping.signal);
    }
  }

  /** Renews until stopped (returns) or until no renewal succeeded within renewDeadline (returns). */
  private async renew(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      const deadline = this.clock.now() + this.renewDeadlineMs;
      let renewed = false;
      while (!this.stopping.signal.aborted && this.clock.now() < deadline) {
        renewed = await this.withDeadline(this.tryAcquireOrRenew(), deadline);
        if (renewed) break;
        await sleep(this.clock, Math.min(this.retryPeriodMs, deadline - this.clock.now()), this.stopping.signal);
      }
      if (this.stopping.signal.aborted) return;
      if (!renewed) return;
      await sleep(this.clock, this.retryPeriodMs, this.stopping.signal);
    }
  }

  private withDeadline(attempt: Promise<boolean>, deadline: number): Promise<boolean> {
    return Promise.race([attempt, sleep(this.clock, deadline - this.clock.now(), this.stopping.signal).then(() => false)]);
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.options.metrics?.setLeader(this.options.name, leading);
  }

  private record(now: number, previous: LeaseRecord | undefined, keepAcquireTime: boolean): LeaseRecord {
    const nowText = formatMicroTime(now);
    return {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.leaseDurationMs / 1000)),
      acquireTime: keepAcquireTime ? (previous?.acquireTime ?? nowText) : nowText,
      renewTime: nowText,
      leaseTransitions: keepAcquireTime ? (previous?.leaseTransitions ?? 0) : (previous?.leaseTransitions ?? -1) + 1,
    };
  }

  private observe(record: LeaseRecord, resourceVersion: string): void {
    this.observedRecord = record;
    this.observedResourceVersion = resourceVersion;
    this.observedTime = this.clock.now();
    const holder = record.holderIdentity ?? '';
    if (holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      if (holder) this.options.onNewLeader?.(holder);
    }
  }

  /** One attempt, as client-go's tryAcquireOrRenew: true when we hold the Lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    const timeoutMs = this.renewDeadlineMs;
    let lease: Lease;
    try {
      lease = await this.options.client.request<Lease>('GET', this.path, { timeoutMs });
    } catch (error) {
      if (!isNotFound(error)) {
        this.logger.warn('Reading the Lease failed', { error });
        return false;
      }
      const record = this.record(now, undefined, false);
      record.leaseTransitions = 0;
      try {
        const created = await this.options.client.request<Lease>('POST', resourcePath({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: this.options.namespace }), {
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.options.name, namespace: this.options.namespace }, spec: record },
          timeoutMs,
        });
        this.observe(created.spec ?? record, created.metadata?.resourceVersion ?? '');
        return true;
      } catch (createError) {
        if (!isAlreadyExists(createError)) this.logger.warn('Creating the Lease failed', { error: createError });
        return false;
      }
    }
    const remote = lease.spec ?? {};
    if (!sameRecord(remote, this.observedRecord)) this.observe(remote, lease.metadata?.resourceVersion ?? '');
    const holder = remote.holderIdentity ?? '';
    const weHold = holder === this.options.identity;
    if (holder && !weHold && this.observedTime + this.leaseDurationMs > now) return false;
    const record = this.record(now, remote, weHold);
    try {
      const updated = await this.options.client.request<Lease>('PUT', this.path, {
        body: { ...lease, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', spec: { ...remote, ...record } },
        timeoutMs,
      });
      this.observe(updated.spec ?? record, updated.metadata?.resourceVersion ?? '');
      return true;
    } catch (error) {
      // A conflict means another candidate wrote first: it won this round.
      if (!isConflict(error)) this.logger.warn('Writing the Lease failed', { error });
      return false;
    }
  }

  /** Hands the Lease back: empty holder, so the next candidate takes it at its next try. */
  private async release(): Promise<void> {
    if (this.observedRecord.holderIdentity !== this.options.identity) return;
    const now = formatMicroTime(this.clock.now());
    try {
      const released = await this.options.client.request<Lease>('PUT', this.path, {
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.options.name, namespace: this.options.namespace, resourceVersion: this.observedResourceVersion },
          spec: { leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: this.observedRecord.leaseTransitions ?? 0 },
        },
        timeoutMs: this.renewDeadlineMs,
      });
      this.observe(released.spec ?? {}, released.metadata?.resourceVersion ?? '');
      this.logger.info('Released the Lease');
    } catch (error) {
      // Someone else already took it, or the server is away: the Lease expires on its own.
      this.logger.warn('Releasing the Lease failed; it will expire instead', { error });
    }
  }
}

function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    (a.holderIdentity ?? '') === (b.holderIdentity ?? '') &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    (a.leaseTransitions ?? 0) === (b.leaseTransitions ?? 0)
  );
}
