import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADMISSION_PLUGINS_REQUIRED,
  CONTROL_PLANE_COMPONENT_NAMES,
  PROTECTED_FLAGS,
  extraArgsViolations,
  isProtectedFlag,
  protectedFlagRules,
  protectedFlagViolations,
  type ControlPlaneComponentName,
} from './protected-flags.ts';
import { shopContext } from '../../operators/cluster/render-fixture.ts';
import { apiServerContainer } from '../../operators/cluster/apiserver-container.ts';
import { controllerManagerContainer } from '../../operators/cluster/controller-manager-container.ts';
import { schedulerContainer } from '../../operators/cluster/scheduler-container.ts';
import { renderEtcdMember } from '../../operators/cluster/etcd-member.ts';

// Rendered flags a Cluster may tune on purpose. Every other flag a renderer sets must be
// protected: a new rendered flag fails this test until someone decides which it is.
const TUNABLE_RENDERED_FLAGS: Record<ControlPlaneComponentName, readonly string[]> = {
  apiServer: ['kubelet-preferred-address-types', 'shutdown-delay-duration', 'profiling', 'enable-admission-plugins'],
  controllerManager: ['cluster-name', 'profiling'],
  scheduler: ['profiling'],
  etcd: ['watch-progress-notify-interval'],
};

function renderedFlags(component: ControlPlaneComponentName): string[] {
  const context = shopContext();
  const args =
    component === 'etcd'
      ? (renderEtcdMember(context, context.etcdMembers[0]!).pod.spec?.containers[0]?.args ?? [])
      : ({ apiServer: apiServerContainer, controllerManager: controllerManagerContainer, scheduler: schedulerContainer }[component](context).container.args ?? []);
  return args.map((arg) => arg.replace(/^--/, '').split('=')[0] ?? '');
}

for (const component of CONTROL_PLANE_COMPONENT_NAMES) {
  test(`every flag the ${component} renderer sets is protected unless listed as tunable`, () => {
    const flags = renderedFlags(component);
    assert.ok(flags.length > 3, 'the renderer sets flags');
    for (const flag of flags) {
      assert.ok(isProtectedFlag(component, flag) || TUNABLE_RENDERED_FLAGS[component].includes(flag), `${component} renders --${flag}: protect it in protected-flags.ts or list it as tunable here`);
    }
    for (const flag of TUNABLE_RENDERED_FLAGS[component]) assert.ok(!isProtectedFlag(component, flag), `${flag} is listed as tunable but protected`);
  });
}

test('the flags the issue names are protected on their components', () => {
  const expected: Record<ControlPlaneComponentName, string[]> = {
    apiServer: [
      'authorization-mode',
      'authorization-webhook-config-file',
      'anonymous-auth',
      'client-ca-file',
      'tls-cert-file',
      'tls-private-key-file',
      'etcd-servers',
      'etcd-cafile',
      'etcd-certfile',
      'etcd-keyfile',
      'service-account-key-file',
      'service-account-signing-key-file',
      'service-account-issuer',
      'requestheader-allowed-names',
      'requestheader-client-ca-file',
      'proxy-client-cert-file',
      'kubelet-client-certificate',
      'kubelet-client-key',
    ],
    controllerManager: ['kubeconfig', 'authentication-kubeconfig', 'authorization-kubeconfig', 'root-ca-file', 'cluster-signing-cert-file', 'cluster-signing-key-file', 'service-account-private-key-file'],
    scheduler: ['kubeconfig', 'authentication-kubeconfig', 'authorization-kubeconfig'],
    etcd: ['cert-file', 'key-file', 'trusted-ca-file', 'peer-cert-file', 'peer-client-cert-auth', 'client-cert-auth', 'data-dir', 'name', 'initial-cluster', 'initial-cluster-state', 'listen-client-urls', 'advertise-client-urls'],
  };
  for (const component of CONTROL_PLANE_COMPONENT_NAMES) {
    for (const flag of expected[component]) assert.ok(isProtectedFlag(component, flag), `${component} --${flag} is protected`);
  }
});

test('tuning flags stay allowed, and a flag is protected only on the component that owns it', () => {
  for (const [component, flag] of [
    ['apiServer', 'v'],
    ['apiServer', 'max-requests-inflight'],
    ['apiServer', 'oidc-issuer-url'],
    ['apiServer', 'audit-log-path'],
    ['apiServer', 'etcd-compaction-interval'],
    ['controllerManager', 'node-monitor-grace-period'],
    ['controllerManager', 'leader-elect-lease-duration'],
    ['scheduler', 'v'],
    ['etcd', 'quota-backend-bytes'],
    ['etcd', 'snapshot-count'],
    // --name is etcd's member name, not a flag of the scheduler.
    ['scheduler', 'name'],
  ] as const) {
    assert.ok(!isProtectedFlag(component, flag), `${component} --${flag} may be tuned`);
  }
});

test('PROTECTED_FLAGS lists every component, with prefixes marked by a trailing *', () => {
  assert.deepEqual(Object.keys(PROTECTED_FLAGS).sort(), ['apiServer', 'controllerManager', 'etcd', 'scheduler']);
  assert.ok(PROTECTED_FLAGS.apiServer.includes('authorization-*'));
  assert.ok(PROTECTED_FLAGS.etcd.includes('peer-*'));
  for (const flags of Object.values(PROTECTED_FLAGS)) {
    for (const flag of flags) assert.match(flag, /^[a-z][a-z0-9-]*\*?$/, `${flag} is a flag name or a prefix`);
  }
});

test('protectedFlagViolations names each overridden flag by its field path and says how to fix it', () => {
  const violations = protectedFlagViolations({
    controlPlane: {
      apiServer: { extraArgs: { 'authorization-mode': 'AlwaysAllow', v: '4', '--anonymous-auth': 'false' } },
      etcd: { extraArgs: { 'peer-client-cert-auth': 'false' } },
      scheduler: { extraArgs: { v: '2' } },
    },
  });
  assert.equal(violations.length, 3, violations.join('\n'));
  assert.match(violations[0]!, /^spec\.controlPlane\.apiServer\.extraArgs\.authorization-mode is set by Tessera: .*Remove it from extraArgs$/);
  assert.match(violations[1]!, /^spec\.controlPlane\.apiServer\.extraArgs\.anonymous-auth is set by Tessera/, 'leading dashes are read as the operator reads them');
  assert.match(violations[2]!, /^spec\.controlPlane\.etcd\.extraArgs\.peer-client-cert-auth is set by Tessera: members and their clients prove who they are/);
  assert.deepEqual(protectedFlagViolations({}), []);
  assert.deepEqual(protectedFlagViolations({ controlPlane: { apiServer: { extraArgs: { v: '4' } } } }), []);
});

test('admission plugins: enabling must keep NodeRestriction, disabling must spare what the platform relies on', () => {
  const check = (extraArgs: Record<string, string>) => protectedFlagViolations({ controlPlane: { apiServer: { extraArgs } } });
  assert.deepEqual(check({ 'enable-admission-plugins': 'NodeRestriction,AlwaysPullImages' }), []);
  assert.deepEqual(check({ 'enable-admission-plugins': 'AlwaysPullImages, NodeRestriction' }), [], 'spaces around names are tolerated');
  assert.match(check({ 'enable-admission-plugins': 'AlwaysPullImages' })[0] ?? '', /enable-admission-plugins must include NodeRestriction/);
  assert.deepEqual(check({ 'disable-admission-plugins': 'DefaultStorageClass' }), []);
  for (const plugin of ADMISSION_PLUGINS_REQUIRED) {
    assert.match(check({ 'disable-admission-plugins': `DefaultStorageClass,${plugin}` })[0] ?? '', new RegExp(`disable-admission-plugins must not disable .*; remove ${plugin}$`));
  }
  assert.match(check({ 'admission-control': 'AlwaysAdmit' })[0] ?? '', /admission-control is set by Tessera/);
});

test('extraArgsViolations adds values with control characters to the protected flags', () => {
  const violations = extraArgsViolations({
    controlPlane: {
      apiServer: { extraArgs: { 'audit-log-path': '/var/log/audit.log\n--authorization-mode=AlwaysAllow', 'authorization-mode': 'AlwaysAllow' } },
      controllerManager: { extraArgs: { v: '4\t' } },
      scheduler: { extraArgs: { v: 'a\u0000b' } },
      etcd: { extraArgs: { 'log-level': 'info\u0085' } },
    },
  });
  assert.deepEqual(
    violations.map((violation) => violation.split(' ')[0]),
    [
      'spec.controlPlane.apiServer.extraArgs.authorization-mode',
      'spec.controlPlane.apiServer.extraArgs.audit-log-path',
      'spec.controlPlane.controllerManager.extraArgs.v',
      'spec.controlPlane.scheduler.extraArgs.v',
      'spec.controlPlane.etcd.extraArgs.log-level',
    ],
  );
  assert.match(violations[1]!, /must not contain control characters \(newline, tab, NUL and the like\): write the value on one line/);
  assert.deepEqual(extraArgsViolations({ controlPlane: { apiServer: { extraArgs: { 'audit-log-path': '/var/log/é audit.log' } } } }), [], 'printable Unicode is fine');
});

test('the CEL rules cover the same flags as the list, one rule naming each', () => {
  for (const component of CONTROL_PLANE_COMPONENT_NAMES) {
    const rules = protectedFlagRules(component);
    const text = rules.map((rule) => rule.rule).join('\n');
    for (const flag of PROTECTED_FLAGS[component]) {
      assert.ok(flag.endsWith('*') ? text.includes(`flag.startsWith('${flag.slice(0, -1)}')`) : text.includes(`'${flag}'`), `${component}: a rule checks ${flag}`);
    }
    for (const rule of rules) {
      assert.ok(rule.message?.startsWith(`spec.controlPlane.${component}.extraArgs`), rule.message);
      assert.equal(rule.messageExpression, undefined, 'a message built from map keys exceeds the API server\'s cost budget');
    }
    assert.equal(rules.filter((rule) => !rule.rule.includes('admission-plugins')).length, PROTECTED_FLAGS[component].length);
  }
  assert.equal(protectedFlagRules('apiServer').filter((rule) => rule.rule.includes('admission-plugins')).length, 2);
});
