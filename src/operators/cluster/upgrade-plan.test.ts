import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planUpgrade, type ControlPlaneStep, type StepObservation } from './upgrade-plan.ts';

const at = (version: string | undefined, running: string[] = version ? [version, version, version] : [], rolledOut = true): StepObservation => ({ rendered: version, running, rolledOut, wanted: 3 });
const targets: Record<ControlPlaneStep, string> = { etcd: '3.7.3', 'kube-apiserver': '1.37.2', 'kube-controller-manager': '1.37.2', 'kube-scheduler': '1.37.2' };
const allOld = { etcd: at('3.7.3'), 'kube-apiserver': at('1.36.3'), 'kube-controller-manager': at('1.36.3'), 'kube-scheduler': at('1.36.3') };

test('a new guest renders every component at its target at once', () => {
  const plan = planUpgrade({ targets, observed: { etcd: at(undefined), 'kube-apiserver': at(undefined), 'kube-controller-manager': at(undefined), 'kube-scheduler': at(undefined) }, paused: false });
  assert.deepEqual(plan.render, { etcd: '3.7.3', 'kube-apiserver': '1.37.2', 'kube-controller-manager': '1.37.2', 'kube-scheduler': '1.37.2', addons: '1.37.2' });
  assert.equal(plan.starting, undefined);
});

test('the API server starts first; the others and the addons stay on the old version', () => {
  const plan = planUpgrade({ targets, observed: allOld, paused: false });
  assert.deepEqual(plan.render, { etcd: '3.7.3', 'kube-apiserver': '1.37.2', 'kube-controller-manager': '1.36.3', 'kube-scheduler': '1.36.3', addons: '1.36.3' });
  assert.deepEqual(plan.starting, { step: 'kube-apiserver', index: 1, from: '1.36.3', to: '1.37.2' });
});

test('the controller-manager waits while any API server pod still runs the old version, even once the template is new', () => {
  const rolling = { ...allOld, 'kube-apiserver': at('1.37.2', ['1.37.2', '1.37.2', '1.36.3'], false) };
  const plan = planUpgrade({ targets, observed: rolling, paused: false });
  assert.equal(plan.render['kube-controller-manager'], '1.36.3');
  assert.deepEqual(plan.inProgress, { step: 'kube-apiserver', index: 1, from: '1.36.3', to: '1.37.2', updated: 2, wanted: 3, held: false });
  const terminatingOld = { ...allOld, 'kube-apiserver': at('1.37.2', ['1.37.2', '1.37.2', '1.37.2', '1.36.3'], true) };
  assert.equal(planUpgrade({ targets, observed: terminatingOld, paused: false }).render['kube-controller-manager'], '1.36.3');
});

test('once the API servers are done, the controller-manager goes, then the scheduler, then the addons', () => {
  const apiDone = { ...allOld, 'kube-apiserver': at('1.37.2') };
  assert.deepEqual(planUpgrade({ targets, observed: apiDone, paused: false }).starting?.step, 'kube-controller-manager');
  const cmDone = { ...apiDone, 'kube-controller-manager': at('1.37.2') };
  const plan = planUpgrade({ targets, observed: cmDone, paused: false });
  assert.equal(plan.starting?.step, 'kube-scheduler');
  assert.equal(plan.render.addons, '1.36.3');
  const done = planUpgrade({ targets, observed: { ...cmDone, 'kube-scheduler': at('1.37.2') }, paused: false });
  assert.equal(done.render.addons, '1.37.2');
  assert.equal(done.controlPlaneSettled, true);
  assert.equal(done.inProgress, undefined);
});

test('paused: no step starts, a step already rolling finishes', () => {
  const paused = planUpgrade({ targets, observed: allOld, paused: true });
  assert.equal(paused.render['kube-apiserver'], '1.36.3');
  assert.equal(paused.inProgress?.held, true);
  const rolling = { ...allOld, 'kube-apiserver': at('1.37.2', ['1.37.2', '1.36.3', '1.36.3'], false) };
  const plan = planUpgrade({ targets, observed: rolling, paused: true });
  assert.equal(plan.render['kube-apiserver'], '1.37.2');
  assert.equal(plan.render['kube-controller-manager'], '1.36.3');
});

test('etcd moves before everything, and the API server waits for every member', () => {
  const newEtcd = { ...targets, etcd: '3.7.4' };
  const plan = planUpgrade({ targets: newEtcd, observed: { ...allOld, 'kube-apiserver': at('1.37.2'), 'kube-controller-manager': at('1.37.2'), 'kube-scheduler': at('1.37.2') }, paused: false });
  assert.equal(plan.render.etcd, '3.7.4');
  assert.equal(plan.starting?.step, 'etcd');
  const half = planUpgrade({ targets: { ...newEtcd, 'kube-apiserver': '1.37.3' }, observed: { ...allOld, etcd: at('3.7.3', ['3.7.4', '3.7.3', '3.7.3'], false), 'kube-apiserver': at('1.37.2') }, paused: false });
  assert.equal(half.render['kube-apiserver'], '1.37.2');
});
