// `npm run bench`: every benchmark, one after another (they share the machine's two cores).
await import('./local-meta-cluster.ts');
await import('./guest-control-plane.ts');
await import('./operator-scale.ts');
await import('./host-node.ts');
await import('./machine-join.ts');
await import('./fleet-planning.ts');
await import('./placement-controller.ts');
await import('./fleet-view.ts');
await import('./rollout-planning.ts');
