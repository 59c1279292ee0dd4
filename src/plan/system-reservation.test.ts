import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allocatable, systemReservation } from './system-reservation.ts';

const closeTo = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} != ${expected}`);

test('a 16 GiB node reserves 2.6 GiB plus the 100 MiB eviction threshold (GKE example)', () => {
  const reserved = systemReservation({ cpu: 4, memoryGiB: 16 });
  closeTo(reserved.memoryGiB, 2.6 + 100 / 1024);
  closeTo(reserved.evictionMemoryGiB, 100 / 1024);
});

test('a 4-core node reserves 80m of CPU (GKE example)', () => {
  closeTo(systemReservation({ cpu: 4, memoryGiB: 16 }).cpu, 0.08);
});

test('the tiers continue above 4 cores and above 128 GiB', () => {
  const reserved = systemReservation({ cpu: 16, memoryGiB: 256 });
  closeTo(reserved.cpu, 0.06 + 0.01 + 0.01 + 12 * 0.0025);
  closeTo(reserved.memoryGiB, 1 + 0.8 + 0.8 + 112 * 0.06 + 128 * 0.02 + 100 / 1024);
});

test('machines under 1 GiB reserve 255 MiB', () => {
  closeTo(systemReservation({ cpu: 1, memoryGiB: 0.5 }).memoryGiB, (255 + 100) / 1024);
});

test('allocatable is capacity minus the reservation', () => {
  const node = allocatable({ cpu: 16, memoryGiB: 64 });
  closeTo(node.cpu, 16 - 0.11);
  closeTo(node.memoryGiB, 64 - (1 + 0.8 + 0.8 + 48 * 0.06) - 100 / 1024);
});
