import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Logger, levelFromEnvironment } from './logger.ts';
import { ApiError } from './rest-client.ts';

function capture(level: 'debug' | 'info' | 'warn' | 'error' = 'debug') {
  const lines: string[] = [];
  const logger = new Logger({ level, write: (line) => lines.push(line), now: () => new Date('2026-01-02T03:04:05.678Z') });
  return { logger, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

test('each line is one JSON object with level, time, msg, bound and call fields', () => {
  const { logger, lines, records } = capture();
  logger.child({ controller: 'cluster' }).child({ key: 'ns/a' }).info('reconciled', { durationMs: 12 });
  assert.equal(lines.length, 1);
  assert.ok(lines[0]?.startsWith('{"level":"info","time":"2026-01-02T03:04:05.678Z","msg":"reconciled"'));
  assert.deepEqual(records()[0], { level: 'info', time: '2026-01-02T03:04:05.678Z', msg: 'reconciled', controller: 'cluster', key: 'ns/a', durationMs: 12 });
});

test('lines below the level are dropped', () => {
  const { logger, records } = capture('warn');
  logger.debug('d');
  logger.info('i');
  logger.warn('w');
  logger.error('e');
  assert.deepEqual(records().map((record) => record['level']), ['warn', 'error']);
  assert.equal(logger.enabled('info'), false);
});

test('the level comes from TESSERA_LOG_LEVEL; a wrong value is refused with the choices', () => {
  assert.equal(levelFromEnvironment({}), 'info');
  assert.equal(levelFromEnvironment({ TESSERA_LOG_LEVEL: 'DEBUG' }), 'debug');
  assert.throws(() => levelFromEnvironment({ TESSERA_LOG_LEVEL: 'verbose' }), /TESSERA_LOG_LEVEL="verbose" .*debug, info, warn or error/);
});

test('Secret data and credential fields never reach the log', () => {
  const { logger, lines } = capture();
  const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'admin-kubeconfig' }, data: { kubeconfig: 'c2VjcmV0LWtjZmc=' }, stringData: { 'tls.key': 'PRIVATE' } };
  const listed = { metadata: { name: 'listed' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'Q0VSVA==', 'tls.key': 'S0VZ' } };
  logger.info('applied', { object: secret, items: [listed], token: 'abc.def', password: 'hunter2' });
  const line = lines[0] ?? '';
  for (const value of ['c2VjcmV0LWtjZmc=', 'PRIVATE', 'Q0VSVA==', 'S0VZ', 'abc.def', 'hunter2']) assert.ok(!line.includes(value), `${value} leaked: ${line}`);
  const record = JSON.parse(line) as { object: { data: Record<string, string>; metadata: { name: string } } };
  assert.deepEqual(record.object.data, { kubeconfig: '[redacted]' }, 'key names stay for debugging');
  assert.equal(record.object.metadata.name, 'admin-kubeconfig');
});

test('errors are logged with message, status and reason, and cycles do not break a line', () => {
  const { logger, records } = capture();
  const cyclic: Record<string, unknown> = { name: 'loop' };
  cyclic['self'] = cyclic;
  const shared = { zone: 'a' };
  logger.error('Reconciler error', { error: new ApiError(409, 'Conflict', 'PUT /x: 409 the object has been modified', {}), cyclic, first: shared, second: shared, msg: 'ignored' });
  const record = records()[0] as { error: Record<string, unknown>; cyclic: Record<string, unknown>; second: unknown; msg: string };
  assert.deepEqual(record.second, { zone: 'a' }, 'an object used twice is not a cycle');
  assert.deepEqual(record.error, { name: 'Error', message: 'PUT /x: 409 the object has been modified', status: 409, reason: 'Conflict' });
  assert.equal(record.cyclic['self'], '[circular]');
  assert.equal(record.msg, 'Reconciler error', 'a field cannot overwrite the message');
});
