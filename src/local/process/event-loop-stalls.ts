// The supervisor's one event loop carries the Service proxy, the pod workers and the embedded
// operators. When it stalls, every Service on the box stops relaying, so a stall is worth a log line.

/** Calls `report` with the length of every event loop stall longer than `thresholdMs`; returns a stop function. */
export function watchEventLoopStalls(report: (stalledMs: number) => void, thresholdMs = 1000, tickMs = 100): () => void {
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const stalled = now - last - tickMs;
    last = now;
    if (stalled > thresholdMs) report(Math.round(stalled));
  }, tickMs);
  // Watching must not keep a process alive that is otherwise done.
  timer.unref();
  return () => clearInterval(timer);
}
