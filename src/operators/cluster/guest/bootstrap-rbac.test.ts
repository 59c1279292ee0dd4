import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NODE_BOOTSTRAP_TOKEN_GROUP, RETIRED_BOOTSTRAP_RBAC, renderBootstrapRbac } from './bootstrap-rbac.ts';
import type { GuestObject } from './guest-object.ts';

type Binding = GuestObject & { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string }[] };
type Role = GuestObject & { rules: { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }[] };

const objects = renderBootstrapRbac();
const bindings = objects.filter((object): object is Binding => object.kind === 'ClusterRoleBinding' || object.kind === 'RoleBinding');

function clusterRolesBoundTo(kind: string, name: string): string[] {
  return bindings
    .filter((binding) => binding.kind === 'ClusterRoleBinding' && binding.subjects.some((subject) => subject.kind === kind && subject.name === name))
    .map((binding) => binding.roleRef.name)
    .sort();
}

test('bootstrap token holders may post CSRs and read nodes, but nothing approves their CSRs by itself', () => {
  assert.equal(NODE_BOOTSTRAP_TOKEN_GROUP, 'system:bootstrappers:kubeadm:default-node-token');
  assert.deepEqual(clusterRolesBoundTo('Group', NODE_BOOTSTRAP_TOKEN_GROUP), ['kubeadm:get-nodes', 'system:node-bootstrapper']);
  const getNodes = objects.find((object) => object.kind === 'ClusterRole' && object.metadata.name === 'kubeadm:get-nodes') as Role;
  assert.deepEqual(getNodes.rules, [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }]);
});

test('no binding lets the controller-manager auto-approve node certificates, and the old ones are retired', () => {
  assert.deepEqual(clusterRolesBoundTo('Group', 'system:nodes'), []);
  assert.ok(!bindings.some((binding) => binding.roleRef.name.startsWith('system:certificates.k8s.io:certificatesigningrequests:')));
  assert.deepEqual(RETIRED_BOOTSTRAP_RBAC.map((object) => object.metadata.name), ['kubeadm:node-autoapprove-bootstrap', 'kubeadm:node-autoapprove-certificate-rotation']);
});

test('the API server kubelet client may use the kubelet API (logs, exec)', () => {
  assert.deepEqual(clusterRolesBoundTo('User', 'kube-apiserver-kubelet-client'), ['system:kubelet-api-admin']);
});

test('anonymous users may get kube-public/cluster-info and nothing else', () => {
  const anonymousBindings = bindings.filter((binding) => binding.subjects.some((subject) => subject.name === 'system:anonymous'));
  assert.equal(anonymousBindings.length, 1);
  const [binding] = anonymousBindings as [Binding];
  assert.equal(binding.kind, 'RoleBinding');
  assert.equal(binding.metadata.namespace, 'kube-public');
  assert.equal(binding.roleRef.kind, 'Role');
  const role = objects.find((object) => object.kind === 'Role' && object.metadata.name === binding.roleRef.name) as Role;
  assert.equal(role.metadata.namespace, 'kube-public');
  assert.deepEqual(role.rules, [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['cluster-info'], verbs: ['get'] }]);
});

test('every bootstrap RBAC object is labelled as managed by Tessera', () => {
  for (const object of objects) assert.equal(object.metadata.labels?.['app.kubernetes.io/managed-by'], 'tessera', object.metadata.name);
});
