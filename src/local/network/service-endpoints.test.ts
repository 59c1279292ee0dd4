import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { endpointIsPublished, endpointsForService, resolveTargetPort, selectorMatches } from './service-endpoints.ts';

function pod(name: string, ip: string | undefined, overrides: { namespace?: string; labels?: Record<string, string>; ready?: boolean; spec?: Partial<NonNullable<V1Pod['spec']>>; phase?: string; deleting?: boolean } = {}): V1Pod {
  return {
    metadata: {
      name,
      namespace: overrides.namespace ?? 'default',
      labels: overrides.labels ?? { app: 'web' },
      ...(overrides.deleting ? { deletionTimestamp: new Date() } : {}),
    },
    spec: { containers: [{ name: 'main', ports: [{ name: 'http', containerPort: 8080 }, { name: 'dns', containerPort: 5353, protocol: 'UDP' }] }], ...overrides.spec },
    status: {
      phase: overrides.phase ?? 'Running',
      ...(ip ? { podIP: ip } : {}),
      conditions: [{ type: 'Ready', status: overrides.ready === false ? 'False' : 'True' }],
    },
  };
}

function service(name: string, spec: NonNullable<V1Service['spec']>, namespace = 'default'): V1Service {
  return { metadata: { name, namespace }, spec };
}

const web = service('web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] });

void test('selects running pods of the same namespace whose labels match the selector', () => {
  const pods = [
    pod('web-b', '127.1.0.2'),
    pod('web-a', '127.1.0.1'),
    pod('other', '127.1.0.3', { labels: { app: 'other' } }),
    pod('web-elsewhere', '127.1.0.4', { namespace: 'prod' }),
  ];
  const endpoints = endpointsForService(web, pods);
  assert.deepEqual(endpoints.map((e) => [e.podName, e.ip]), [['web-a', '127.1.0.1'], ['web-b', '127.1.0.2']]);
});

void test('a Service without a selector, or with an empty one, has no endpoints', () => {
  const pods = [pod('web-a', '127.1.0.1')];
  assert.deepEqual(endpointsForService(service('manual', { ports: [{ port: 80 }] }), pods), []);
  assert.deepEqual(endpointsForService(service('empty', { selector: {}, ports: [{ port: 80 }] }), pods), []);
  assert.equal(selectorMatches({ app: 'web', tier: 'front' }, { app: 'web' }), false);
});

void test('terminating pods, pods without an IP and pods that finished for good are left out', () => {
  const pods = [
    pod('deleting', '127.1.0.1', { deleting: true }),
    pod('pending', undefined),
    pod('done-never', '127.1.0.2', { phase: 'Succeeded', spec: { restartPolicy: 'Never' } }),
    pod('failed-never', '127.1.0.3', { phase: 'Failed', spec: { restartPolicy: 'Never' } }),
    pod('done-onfailure', '127.1.0.4', { phase: 'Succeeded', spec: { restartPolicy: 'OnFailure' } }),
    pod('failed-onfailure', '127.1.0.5', { phase: 'Failed', spec: { restartPolicy: 'OnFailure' }, ready: false }),
  ];
  assert.deepEqual(endpointsForService(web, pods).map((e) => e.podName), ['failed-onfailure']);
});

void test('readiness comes from the pod Ready condition, and publishNotReadyAddresses publishes the rest', () => {
  const endpoints = endpointsForService(web, [pod('ready', '127.1.0.1'), pod('starting', '127.1.0.2', { ready: false })]);
  assert.deepEqual(endpoints.map((e) => [e.podName, e.ready]), [['ready', true], ['starting', false]]);
  const starting = endpoints[1];
  assert.ok(starting);
  assert.equal(endpointIsPublished(web, starting), false);
  assert.equal(endpointIsPublished(service('web', { ...web.spec, publishNotReadyAddresses: true }), starting), true);
});

void test('named target ports resolve per pod; a pod without the named port gets no entry for it', () => {
  const multi = service('multi', {
    selector: { app: 'web' },
    ports: [
      { name: 'http', port: 80, targetPort: 'http' },
      { name: 'metrics', port: 9090, targetPort: 'metrics' },
      { name: 'raw', port: 7000 },
      { name: 'dns', port: 53, targetPort: 'dns', protocol: 'UDP' },
    ],
  });
  const withMetrics = pod('a', '127.1.0.1', {
    spec: { containers: [{ name: 'main', ports: [{ name: 'http', containerPort: 8081 }] }, { name: 'exporter', ports: [{ name: 'metrics', containerPort: 9100 }] }] },
  });
  const [a, b] = endpointsForService(multi, [withMetrics, pod('b', '127.1.0.2')]);
  assert.deepEqual(a?.ports, [
    { name: 'http', port: 80, protocol: 'TCP', targetPort: 8081 },
    { name: 'metrics', port: 9090, protocol: 'TCP', targetPort: 9100 },
    { name: 'raw', port: 7000, protocol: 'TCP', targetPort: 7000 },
  ]);
  assert.deepEqual(b?.ports, [
    { name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 },
    { name: 'raw', port: 7000, protocol: 'TCP', targetPort: 7000 },
    { name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 },
  ]);
});

void test('a named port of a restartable init container (a sidecar) resolves too', () => {
  const sidecar = pod('a', '127.1.0.1', { spec: { containers: [{ name: 'main' }], initContainers: [{ name: 'proxy', restartPolicy: 'Always', ports: [{ name: 'http', containerPort: 15001 }] }] } });
  assert.equal(resolveTargetPort(sidecar, { port: 80, targetPort: 'http' }), 15001);
  const plainInit = pod('b', '127.1.0.2', { spec: { containers: [{ name: 'main' }], initContainers: [{ name: 'setup', ports: [{ name: 'http', containerPort: 15001 }] }] } });
  assert.equal(resolveTargetPort(plainInit, { port: 80, targetPort: 'http' }), undefined);
});

void test('an unnamed single port keeps no name', () => {
  const single = service('single', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] });
  assert.deepEqual(endpointsForService(single, [pod('a', '127.1.0.1')])[0]?.ports, [{ port: 80, protocol: 'TCP', targetPort: 8080 }]);
});

void test('the hostname is set only when the pod subdomain names this Service', () => {
  const headless = service('web', { clusterIP: 'None', selector: { app: 'web' } });
  const endpoints = endpointsForService(headless, [
    pod('web-0', '127.1.0.1', { spec: { hostname: 'web-0', subdomain: 'web' } }),
    pod('web-1', '127.1.0.2', { spec: { hostname: 'web-1', subdomain: 'other' } }),
    pod('web-2', '127.1.0.3', { spec: { subdomain: 'web' } }),
  ]);
  assert.deepEqual(endpoints.map((e) => e.hostname), ['web-0', undefined, undefined]);
});
