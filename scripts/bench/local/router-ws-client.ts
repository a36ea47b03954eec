export {};
/**
 * WebSocket echo round trips for the router benchmark, run as its own
 * process so the client never shares an event loop with the proxy it
 * measures. argv: url host connections seconds. Prints one JSON line:
 * { roundTrips, perSecond, p50Ms, p99Ms }.
 */
const [url = "", host = "", connArg = "8", secArg = "3"] = process.argv.slice(2);
const connections = Number(connArg);
const until = performance.now() + Number(secArg) * 1000;
const latencies: number[] = [];
const payload = "x".repeat(64);

async function run(): Promise<void> {
  const ws = new WebSocket(url, { headers: host ? { host } : {} } as unknown as string[]);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`websocket to ${url} failed`));
  });
  let sent = 0;
  await new Promise<void>((resolve) => {
    ws.onmessage = () => {
      latencies.push(performance.now() - sent);
      if (performance.now() >= until) return resolve();
      sent = performance.now();
      ws.send(payload);
    };
    sent = performance.now();
    ws.send(payload);
  });
  ws.close();
}

const t0 = performance.now();
await Promise.all(Array.from({ length: connections }, run));
const seconds = (performance.now() - t0) / 1000;
const sorted = latencies.sort((a, b) => a - b);
const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
console.log(JSON.stringify({ roundTrips: sorted.length, perSecond: sorted.length / seconds, p50Ms: at(50), p99Ms: at(99) }));
process.exit(0);
