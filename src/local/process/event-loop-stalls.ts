// The supervisor's main event loop carries the pod workers, their probes, DNS and the embedded
// operators (the Service relay has a thread of its own). When it stalls they all wait, so a stall
// is worth a log line.

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
