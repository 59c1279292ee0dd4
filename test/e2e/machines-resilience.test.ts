// The Node operator when things break around it, end to end on local hosts:
//  (a) two of a guest's three hosts powered off at once: the operator takes no remediation action
//      (the likely fault is the network, not the hosts), the Cluster's MachinesHealthy and each
//      powered-off Machine's Remediating say why it holds, and once the hosts are powered on
//      again every Machine and Node is Ready;
//  (b) the operators' process killed (SIGKILL) at random moments while four Machines join: every
//      Machine still becomes a Ready Node, and each package was installed exactly once per host,
//      by the host's own record (host-install-audit.ts) and by the Machine's Events.
// The operators run as their own process (TESSERA_EMBEDDED_OPERATORS=0, local-operators-process.ts).
// Each test makes its own guest and hosts and removes them, so one failure does not cascade. The
// random moments come from a seeded generator; TESSERA_CRASH_SEED replays a run.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { MetaClusterCli, eventually } from '../harness/meta-cluster-cli.ts';
import { LocalOperatorsProcess } from '../harness/local-operators-process.ts';
import { readInstallAudit, startInstallAudit } from '../harness/host-install-audit.ts';
import { readHostRecord, type HostRecord } from '../../src/local/hosts/host-layout.ts';
import { runOnHost } from '../../src/local/hosts/host-ssh.ts';

type Condition = { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string };
type Machine = { metadata: { name: string }; spec: { clusterName: string }; status?: { phase?: string; nodeName?: string; conditions?: Condition[]; packages?: { name: string; version: string }[] } };
type Node = { metadata: { name: string }; status: { conditions: Condition[] } };
type Event = { reason: string; message: string; count?: number; type: string; involvedObject: { name: string } };
type List<T> = { items: T[] };

const VERSION = '1.37.2';
const meta = await MetaClusterCli.create(1);
meta.env['TESSERA_EMBEDDED_OPERATORS'] = '0';
// Converged Machines are looked at every 3 s, so a powered-off host is noticed quickly.
meta.env['TESSERA_MACHINE_HEALTH_PERIOD_MS'] = '3000';
const operators = new LocalOperatorsProcess(meta.home, meta.env);
const allHosts = new Set<string>();

after(async () => {
  await operators.kill();
  if (allHosts.size > 0) await meta.tessera(['hosts', 'delete', ...allHosts], 180_000);
  await meta.destroy();
});

let up: Promise<void> | undefined;
/** `tessera up` once, for whichever test comes first. */
function metaClusterUp(): Promise<void> {
  up ??= (async () => {
    const result = await meta.tessera(['up', '--detach']);
    assert.equal(result.code, 0, result.stderr + result.stdout);
  })();
  return up;
}

const condition = (machine: Machine | undefined, type: string) => machine?.status?.conditions?.find((entry) => entry.type === type);
const nodeReady = (node: Node) => node.status.conditions.some((entry) => entry.type === 'Ready' && entry.status === 'True');

async function host(name: string): Promise<HostRecord> {
  const record = await readHostRecord(meta.home, name);
  assert.ok(record, `host ${name} exists`);
  return record;
}

async function machinesOf(cluster: string): Promise<Machine[]> {
  return (await meta.kubectlJson<List<Machine>>('get', 'machines')).items.filter((machine) => machine.spec.clusterName === cluster);
}

async function machineEvents(names: readonly string[]): Promise<Event[]> {
  return (await meta.kubectlJson<List<Event>>('get', 'events', '--field-selector', 'involvedObject.kind=Machine')).items.filter((event) => names.includes(event.involvedObject.name));
}

async function clusterEvents(name: string): Promise<Event[]> {
  return (await meta.kubectlJson<List<Event>>('get', 'events', '--field-selector', `involvedObject.kind=Cluster,involvedObject.name=${name}`)).items;
}

/** What the operators' process said last and why Machines wait: for failure messages. */
async function diagnosis(cluster: string): Promise<string> {
  const machines = await machinesOf(cluster).catch(() => []);
  const lines = machines.map((machine) => `${machine.metadata.name} ${machine.status?.phase ?? '-'}: ${(machine.status?.conditions ?? []).filter((c) => c.status !== 'True' || c.type === 'NodeReady').map((c) => `${c.type}=${c.status} ${c.reason ?? ''} ${c.message ?? ''}`).join('; ')}`);
  const clusterObject = await meta.kubectlJson<{ status?: { conditions?: Condition[] } }>('get', 'cluster', cluster).catch(() => undefined);
  const machinesHealthy = clusterObject?.status?.conditions?.find((entry) => entry.type === 'MachinesHealthy');
  lines.push(`Cluster ${cluster} MachinesHealthy=${machinesHealthy?.status ?? '-'} ${machinesHealthy?.reason ?? ''} ${machinesHealthy?.message ?? ''}`);
  // Whether the hosts are really down (or up) as the test made them, and when each Machine last changed.
  lines.push(`hosts list:\n${(await meta.tessera(['hosts', 'list']).catch((error: Error) => ({ stdout: error.message }))).stdout.trim()}`);
  for (const machine of machines) lines.push(`${machine.metadata.name} conditions last moved: ${(machine.status?.conditions ?? []).map((c) => `${c.type}@${c.lastTransitionTime ?? '-'}`).join(' ')}`);
  return `\n${lines.join('\n')}\noperators' log:\n${await operators.logTail(15)}`;
}

/** Hosts created with their Machine manifests, a Minimal guest for them, the Machines not yet applied. */
async function guestWithHosts(cluster: string, names: readonly string[], zone: string): Promise<{ machines: string; guestKubeconfig: string }> {
  for (const name of names) allHosts.add(name);
  const created = await meta.tessera(['hosts', 'create', ...names, '--zone', zone, '--cluster', cluster, '-o', 'yaml'], 600_000);
  assert.equal(created.code, 0, created.stderr);
  await meta.apply(`apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata:
  name: ${cluster}
spec:
  version: "${VERSION}"
  mode: Minimal
`);
  await eventually(`Cluster ${cluster} Ready`, async () => {
    const object = await meta.kubectlJson<{ status?: { conditions?: Condition[] } }>('get', 'cluster', cluster);
    return object.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  }, 300_000, 1_000);
  const guestKubeconfig = join(meta.home, `${cluster}.kubeconfig`);
  await writeFile(guestKubeconfig, Buffer.from(await meta.kubectl('get', 'secret', `${cluster}-admin-kubeconfig`, '-o', 'jsonpath={.data.kubeconfig}'), 'base64').toString(), { mode: 0o600 });
  return { machines: created.stdout, guestKubeconfig };
}

async function allJoined(cluster: string, names: readonly string[], guestKubeconfig: string, timeoutMs: number): Promise<void> {
  await eventually(`every Machine of ${cluster} Ready`, async () => {
    const machines = await machinesOf(cluster);
    return machines.length === names.length && machines.every((machine) => condition(machine, 'Ready')?.status === 'True');
  }, timeoutMs, 1_000).catch(async (error: Error) => {
    throw new Error(`${error.message}${await diagnosis(cluster)}`);
  });
  await eventually(`every Node of ${cluster} Ready in the guest`, async () => {
    const nodes = (await meta.kubectlJson<List<Node>>('--kubeconfig', guestKubeconfig, 'get', 'nodes')).items;
    return names.every((name) => nodes.some((node) => node.metadata.name === name && nodeReady(node)));
  }, 120_000, 1_000);
}

/** Takes the guest and its hosts away; a dead host's Machine is released without cleaning it. */
async function removeGuest(cluster: string, names: readonly string[]): Promise<void> {
  await meta.kubectl('annotate', 'machines', ...names, 'tessera.dev/skip-host-cleanup=true', '--overwrite').catch(() => undefined);
  await meta.kubectl('delete', 'cluster', cluster, '--wait=false').catch(() => undefined);
  const deleted = await meta.tessera(['hosts', 'delete', ...names], 180_000);
  if (deleted.code === 0) for (const name of names) allHosts.delete(name);
}

/** Events by which the operator acts on a host (remediation-policy.ts steps). */
const REMEDIATION_ACTIONS = new Set(['ServiceRestarted', 'PackageReinstalled', 'ReplacementRequired']);

test('two of three hosts powered off at once: no remediation action, the Cluster and each Machine say why they hold; powered on, all Ready again', { timeout: 1_200_000 }, async (t) => {
  const cluster = 'hold';
  const names = ['r1', 'r2', 'r3'];
  const stopped = ['r1', 'r2'];
  await metaClusterUp();
  operators.start();
  try {
    const { machines, guestKubeconfig } = await guestWithHosts(cluster, names, 'zone-a');
    await meta.apply(machines);
    await allJoined(cluster, names, guestKubeconfig, 420_000);

    // Powered off at the same moment: sshd, kubelet and everything else on them gone.
    const results = await Promise.all(stopped.map((name) => meta.tessera(['hosts', 'stop', name], 120_000)));
    for (const result of results) assert.equal(result.code, 0, result.stderr);
    const stoppedAt = Date.now();

    await t.test('the operator notices both hosts are gone', async () => {
      await eventually('HostReachable=False on both powered-off Machines', async () => {
        const list = await machinesOf(cluster);
        return stopped.every((name) => condition(list.find((machine) => machine.metadata.name === name), 'HostReachable')?.status === 'False');
      }, 120_000, 1_000);
    });

    await t.test('no remediation action is taken, and the Cluster says why it holds', async () => {
      // The positive signal: the Cluster's MachinesHealthy holds with the reason remediation-policy.ts
      // gives when more than 55% of a Cluster's Machines are unhealthy, and a Warning Event says so.
      const held = await eventually('MachinesHealthy=False HeldTooManyUnhealthy and a RemediationHeld Event on the Cluster', async () => {
        const object = await meta.kubectlJson<{ status?: { conditions?: Condition[] } }>('get', 'cluster', cluster);
        const machinesHealthy = object.status?.conditions?.find((entry) => entry.type === 'MachinesHealthy');
        const events = await clusterEvents(cluster);
        return machinesHealthy?.status === 'False' && machinesHealthy.reason === 'HeldTooManyUnhealthy' && events.some((event) => event.reason === 'RemediationHeld') ? machinesHealthy : undefined;
      }, 120_000, 1_000).catch(async (error: Error) => {
        throw new Error(`${error.message}${await diagnosis(cluster)}`);
      });
      assert.match(held.message ?? '', /2 of 3 Machines unhealthy \(r1, r2\)/);
      // Seen at the moment the hold was: no action on any Machine, none under way.
      const actions = (await machineEvents(names)).filter((event) => REMEDIATION_ACTIONS.has(event.reason));
      assert.deepEqual(actions.map((event) => `${event.involvedObject.name} ${event.reason}: ${event.message}`), [], 'no remediation action');
      for (const machine of await machinesOf(cluster)) assert.notEqual(condition(machine, 'Remediating')?.status, 'True', `${machine.metadata.name} is not under remediation`);
      t.diagnostic(`hold seen ${((Date.now() - stoppedAt) / 1000).toFixed(0)} s after the hosts were powered off: ${held.message}`);
    });

    await t.test('each powered-off Machine says it is held too, rather than healthy', async () => {
      // A Machine whose host is gone is not "Healthy: nothing to repair": its Remediating
      // condition carries the hold (remediation-policy.ts reasons start with Held).
      await eventually('Remediating Held... on both powered-off Machines', async () => {
        const list = await machinesOf(cluster);
        return stopped.every((name) => (condition(list.find((machine) => machine.metadata.name === name), 'Remediating')?.reason ?? '').startsWith('Held'));
      }, 60_000, 1_000).catch(async (error: Error) => {
        throw new Error(`${error.message}${await diagnosis(cluster)}`);
      });
    });

    await t.test('powered on again, every Machine and Node is Ready and no action was taken meanwhile', async () => {
      const started = await Promise.all(stopped.map((name) => meta.tessera(['hosts', 'start', name], 180_000)));
      for (const result of started) assert.equal(result.code, 0, result.stderr);
      await allJoined(cluster, names, guestKubeconfig, 300_000);
      await eventually('Remediating=False Healthy on every Machine, MachinesHealthy=True on the Cluster', async () => {
        const list = await machinesOf(cluster);
        const object = await meta.kubectlJson<{ status?: { conditions?: Condition[] } }>('get', 'cluster', cluster);
        return list.every((machine) => condition(machine, 'Remediating')?.reason === 'Healthy') && object.status?.conditions?.some((entry) => entry.type === 'MachinesHealthy' && entry.status === 'True');
      }, 60_000, 1_000);
      const actions = (await machineEvents(names)).filter((event) => REMEDIATION_ACTIONS.has(event.reason));
      assert.deepEqual(actions.map((event) => `${event.involvedObject.name} ${event.reason}: ${event.message}`), [], 'no remediation action from power-off to recovery');
      t.diagnostic(`all Ready ${((Date.now() - stoppedAt) / 1000).toFixed(0)} s after the hosts were powered off`);
    });
    assert.deepEqual(operators.unexpectedExits, [], 'the operators never exited on their own');
  } finally {
    await operators.stop();
    await removeGuest(cluster, names);
  }
});

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function seededRandom(initial: number): () => number {
  let state = initial >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

test('the operators killed at random moments while four Machines join: every Machine becomes a Ready Node, each package installed once', { timeout: 1_500_000 }, async (t) => {
  const cluster = 'crash';
  const names = ['k1', 'k2', 'k3', 'k4'];
  const seed = Number(process.env['TESSERA_CRASH_SEED'] ?? Date.now() % 2 ** 31);
  const random = seededRandom(seed);
  t.diagnostic(`random seed ${seed} (replay with TESSERA_CRASH_SEED=${seed})`);
  await metaClusterUp();
  operators.start();
  let chaos = true;
  let kills = 0;
  const killTimes: number[] = [];
  let chaosLoop: Promise<void> = Promise.resolve();
  try {
    const { machines, guestKubeconfig } = await guestWithHosts(cluster, names, 'zone-b');
    const records = await Promise.all(names.map((name) => host(name)));
    for (const record of records) await startInstallAudit(meta.home, record);

    // Killed every 2 to 8 s and started again at once, from the moment the Machines are applied
    // until every one is Ready.
    chaosLoop = (async () => {
      while (chaos) {
        await new Promise((resolve) => setTimeout(resolve, 2_000 + random() * 6_000));
        if (!chaos) break;
        killTimes.push(Date.now() / 1000);
        await operators.kill();
        kills++;
        operators.start();
      }
    })();
    const applied = Date.now();
    await meta.apply(machines);
    await eventually('every Machine of crash Ready while the operators are killed', async () => {
      const list = await machinesOf(cluster);
      return list.length === names.length && list.every((machine) => condition(machine, 'Ready')?.status === 'True');
    }, 900_000, 1_000).catch(async (error: Error) => {
      throw new Error(`${error.message} (killed ${kills} times)${await diagnosis(cluster)}`);
    });
    chaos = false;
    await chaosLoop;
    t.diagnostic(`every Machine Ready ${((Date.now() - applied) / 1000).toFixed(0)} s after they were applied; the operators were killed ${kills} times`);
    assert.ok(kills >= 5, `the operators were killed ${kills} times while the Machines joined`);
    if (operators.pid === undefined) operators.start();
    await allJoined(cluster, names, guestKubeconfig, 120_000);

    const expected = ['runc', 'cni-plugins', 'containerd', 'pause', 'kubelet', 'kube-proxy', 'coredns', 'demo'];
    const events = await machineEvents(names);
    const list = await machinesOf(cluster);
    // Every violation on every host first, then one assertion with what explains them.
    const violations: string[] = [];
    const context: string[] = [];
    const killsNear = (times: string[]) => killTimes.filter((kill) => times.some((time) => Math.abs(Number(time.split(' ').at(-1)) - kill) < 15)).map((kill) => kill.toFixed(3));
    for (const record of records) {
      const machine = list.find((entry) => entry.metadata.name === record.name);
      const installed = machine?.status?.packages ?? [];
      assert.deepEqual(installed.map((entry) => entry.name).sort(), [...expected].sort(), `${record.name}: status.packages`);
      // The host's own record of every install that completed: one per package.
      const history = await readInstallAudit(meta.home, record);
      for (const { name, version } of installed) {
        const writes = history.records.get(name) ?? [];
        const unpacks = history.unpacked.get(`${name}/${version}`) ?? [];
        const uploads = history.uploads.get(`${name}-${version}`) ?? [];
        // A kill between the install and its Event may lose the Event, never add one.
        const installedEvents = events.filter((event) => event.involvedObject.name === record.name && event.reason === 'PackageInstalled' && event.message.startsWith(`${name} ${version} installed`)).reduce((sum, event) => sum + (event.count ?? 1), 0);
        if (writes.length !== 1 || unpacks.length !== 1 || installedEvents > 1) {
          violations.push(`${record.name} ${name} ${version}: install record written ${writes.length} times, unpacked ${unpacks.length} times, ${installedEvents} PackageInstalled Events`);
          context.push(`${record.name} ${name}: record mtimes ${writes.join(', ')}; unpacked directory inodes ${unpacks.join(', ')}; uploads ${uploads.join(', ')}; operator kills within 15 s: ${killsNear([...writes, ...uploads]).join(', ') || 'none'}`);
        }
      }
      const extra = [...history.unpacked.keys()].filter((key) => !installed.some((entry) => `${entry.name}/${entry.version}` === key));
      if (extra.length > 0) violations.push(`${record.name}: unpacked besides its packages: ${extra.join(', ')}`);
      const leftovers = (await runOnHost(meta.home, record, 'ls -d /opt/tessera/*/*.partial 2>/dev/null || true')).stdout.trim();
      if (leftovers) violations.push(`${record.name}: half-unpacked packages left: ${leftovers}`);
    }
    if (violations.length > 0) {
      const eventLines = events.filter((event) => /Install|Package/.test(event.reason)).map((event) => `${event.involvedObject.name} ${event.reason} x${event.count ?? 1}: ${event.message.slice(0, 120)}`);
      context.push(`Machine Events:\n  ${eventLines.join('\n  ')}`);
    }
    assert.deepEqual(violations, [], `each package installed exactly once per host\n${context.join('\n')}`);
    assert.deepEqual(operators.unexpectedExits, [], 'the operators never exited on their own');
  } finally {
    chaos = false;
    await chaosLoop;
    await operators.stop();
    await removeGuest(cluster, names);
  }
});
