import type { KubeClient } from "./client.ts";

/**
 * Follows a staging pod's log into staging log lines. The pod script
 * prefixes every line with "O " (stdout) or "E " (stderr), because a pod log
 * merges both streams; a line without a prefix (e.g. from a tool the script
 * ran) counts as stdout. Resolves when the log ends (the container
 * terminated) or `signal` aborts; a broken stream is reported, not thrown.
 */
export async function followStagingLog(client: KubeClient, pod: string, container: string, onLine: (stream: "OUT" | "ERR", message: string) => void, signal: AbortSignal): Promise<void> {
  const emit = (line: string) => {
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line.startsWith("O ")) onLine("OUT", line.slice(2));
    else if (line.startsWith("E ")) onLine("ERR", line.slice(2));
    else onLine("OUT", line);
  };
  const stream = await client.podLog(pod, { follow: true, container, signal });
  const decoder = new TextDecoder();
  let rest = "";
  try {
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
      rest += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        emit(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
      }
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
  rest += decoder.decode();
  if (rest) emit(rest);
}
