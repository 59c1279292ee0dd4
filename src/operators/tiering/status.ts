// The condition and Events of the tiering controller. It writes status.tier, status.load and the
// Tiered condition under its own field manager (tessera-tiering-controller), never the Cluster
// operator's, so the two never fight over a field.
export const TieringCondition = {
  /** Which tier the guest is on and why (pinned, steady, waiting, held by the limit or the cell). */
  Tiered: 'Tiered',
} as const;

export const TieringReason = {
  Pinned: 'Pinned',
  Initial: 'Initial',
  TierRemoved: 'TierRemoved',
  ScaledUp: 'ScaledUp',
  ScaledDown: 'ScaledDown',
  Steady: 'Steady',
  WaitingUp: 'WaitingUp',
  WaitingDown: 'WaitingDown',
  TransitionLimit: 'TransitionLimit',
  DoesNotFitCell: 'DoesNotFitCell',
  MetricsUnavailable: 'MetricsUnavailable',
} as const;
