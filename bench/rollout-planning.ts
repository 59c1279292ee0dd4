// Benchmark (issue 10, scale): the orchestration overhead of a package rollout over 10,000
// simulated Machines in 20 zones. Every pass of the rollout's pure decision (decideRollout: the
// plan, the batches within maxUnavailable and one zone, the verification bookkeeping of every
// Machine, the soak of every step) is run as the operator would run it, one pass per 2 s of
// simulated time, against a simulated fleet whose hosts take 30 s to upgrade. Printed beside it:
// the inherent time of the rollout itself (how long its waves take under its own rules: each
// step's soak, and each batch's upgrade, batches being at most maxUnavailable and one zone), and
// the decision time as a percentage of it (goal: at most 5%). The API calls a pass makes are not
// in it (they are I/O, bounded by the writes the status records).
// Last line: {"bench":"rollout-planning","machines":10000,"zones":20,"passes":P,"decisionSeconds":D,"inherentSeconds":I,"overheadPercent":O}
import { performance } from 'node:perf_hooks';
import type { PackageRollout } from '../src/api/v1alpha1/package-rollout.ts';
import { decideRollout, type RolloutObservations } from '../src/operators/rollout/progress.ts';
import type { MachineObservation, NodeObservation } from '../src/operators/rollout/verification.ts';

const MACHINES = 10_000;
const ZONES = 20;
const PASS_MS = 2_000;
const UPGRADE_MS = 30_000;
const SOAK = '2m';
const FROM = '1.36.3';
const TO = '1.37.2';

const rollout: PackageRollout = {
  apiVersion: 'tessera.dev/v1alpha1',
  kind: 'PackageRollout',
  metadata: { name: 'bench', namespace: 'default', generation: 1 },
  spec: { clusterName: 'bench', package: { name: 'kubelet', version: TO }, canary: 1, waves: ['1%', '10%', '25%', '50%', '100%'], maxUnavailable: '10%', verification: { soak: SOAK, timeout: '30m' } },
};
const machines = new Map<string, MachineObservation>();
const nodes = new Map<string, NodeObservation>();
const upgradedAt = new Map<string, number>();
for (let index = 0; index < MACHINES; index++) {
  const name = `m${String(index).padStart(5, '0')}`;
  machines.set(name, { name, zone: `zone-${String(index % ZONES).padStart(2, '0')}`, labels: {}, nodeName: name, generation: 1, observedGeneration: 1, hostVersion: FROM, ready: true, readyMessage: '', remediating: { status: 'False', reason: 'Healthy', message: '', observedGeneration: 1 } });
  nodes.set(name, { ready: true, message: '', unschedulable: false, kubeletVersion: `v${FROM}` });
}

let now = Date.parse('2027-01-01T00:00:00Z');
const started = now;
let decisionMs = 0;
let passes = 0;
let promotedGeneration: number | undefined;
for (;;) {
  passes++;
  const observed: RolloutObservations = { now: new Date(now), machines, nodes, drains: new Map(), checks: new Map(), packageVersion: { version: promotedGeneration ? TO : FROM, generation: promotedGeneration ?? 1, observedGeneration: promotedGeneration ?? 1 } };
  const begin = performance.now();
  const decision = decideRollout(rollout, observed);
  decisionMs += performance.now() - begin;
  rollout.status = decision.status;
  if (decision.status.phase === 'Succeeded') break;
  if (passes > 1_000_000) throw new Error('the simulated rollout did not finish');
  if (decision.promote) promotedGeneration = 2;
  // The world follows the recorded status, as the components and the Node operator would make it.
  for (const entry of decision.status.nodes ?? []) {
    const machine = machines.get(entry.machine);
    const node = nodes.get(entry.machine);
    if (!machine || !node) continue;
    if (entry.state === 'Draining') node.unschedulable = true;
    if (entry.state === 'Upgrading' && machine.override !== TO) {
      machine.override = TO;
      machine.generation++;
      upgradedAt.set(entry.machine, now);
    }
    if (entry.state === 'Upgrading' && now - (upgradedAt.get(entry.machine) ?? now) >= UPGRADE_MS) {
      machine.hostVersion = TO;
      machine.observedGeneration = machine.generation;
      if (machine.remediating) machine.remediating.observedGeneration = machine.generation;
      node.kubeletVersion = `v${TO}`;
    }
    if (entry.state === 'Soaking' || entry.state === 'Verified') node.unschedulable = false;
  }
  now += PASS_MS;
}
const totalSeconds = (now - started) / 1000;
const steps = rollout.status?.steps ?? 0;
// Inherent: the simulated duration, made of the soaks and the batches' upgrades (the 2 s between passes round it up a little).
const inherentSeconds = totalSeconds;
const decisionSeconds = decisionMs / 1000;
const overheadPercent = (decisionSeconds / inherentSeconds) * 100;
console.log(`rollout of ${MACHINES} Machines in ${ZONES} zones, ${steps} steps (canary + ${steps - 1} waves): ${passes} passes, ${totalSeconds.toFixed(0)} s simulated`);
console.log(`  decisions (plan, batches, verification bookkeeping): ${decisionSeconds.toFixed(2)} s in total, ${(decisionMs / passes).toFixed(2)} ms per pass`);
console.log(`  inherent: ${inherentSeconds.toFixed(0)} s (${steps} soaks of ${SOAK}, the rest batches of one zone waiting ${UPGRADE_MS / 1000} s for their upgrade)`);
console.log(`  overhead: ${overheadPercent.toFixed(2)}% of the inherent time (goal <= 5%)`);
console.log(JSON.stringify({ bench: 'rollout-planning', machines: MACHINES, zones: ZONES, passes, decisionSeconds: Number(decisionSeconds.toFixed(3)), inherentSeconds, overheadPercent: Number(overheadPercent.toFixed(3)) }));
