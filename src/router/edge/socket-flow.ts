import type { Socket } from "bun";

/**
 * Bun's TCP sockets can stop and restart reading (`pause`/`resume`, present
 * at run time but missing from bun-types 1.4.5): that is how the edge
 * applies backpressure from a slow reader to a fast writer.
 */
interface Pausable {
  pause?(): unknown;
  resume?(): unknown;
}

export function pauseReading(s: Socket<unknown>): void {
  (s as unknown as Pausable).pause?.();
}

export function resumeReading(s: Socket<unknown>): void {
  (s as unknown as Pausable).resume?.();
}

/**
 * Writes what the socket takes now and queues the rest (copied: the caller's
 * buffer may be reused). Returns true when everything went out.
 */
/** A copy that owns its bytes (Buffer#slice would be a view). */
export function copyBytes(data: Uint8Array): Uint8Array {
  return new Uint8Array(data);
}

export function writeOrQueue(s: Socket<unknown>, queue: Uint8Array[], data: Uint8Array | string): boolean {
  // Strings here are ASCII heads: one byte per character.
  if (queue.length > 0) {
    queue.push(typeof data === "string" ? Buffer.from(data, "latin1") : copyBytes(data));
    return false;
  }
  const n = s.write(data);
  if (n === data.length) return true;
  const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data;
  queue.push(copyBytes(bytes.subarray(Math.max(0, n))));
  return false;
}

/**
 * Writes `buf[0..length)` (a reused scratch buffer: whatever the socket does
 * not take now is copied into the queue). Returns true when everything went out.
 */
export function writeSpanOrQueue(s: Socket<unknown>, queue: Uint8Array[], buf: Uint8Array, length: number): boolean {
  if (queue.length > 0) {
    queue.push(copyBytes(buf.subarray(0, length)));
    return false;
  }
  const n = s.write(buf, 0, length);
  if (n === length) return true;
  queue.push(copyBytes(buf.subarray(Math.max(0, n), length)));
  return false;
}

/** One scratch buffer for composing a response head with the first body bytes: the event loop is single-threaded and writes copy. */
export const SCRATCH = Buffer.allocUnsafe(64 * 1024);

/** Writes queued data after a drain; true when the queue is empty. */
export function flushQueue(s: Socket<unknown>, queue: Uint8Array[]): boolean {
  while (queue.length > 0) {
    const head = queue[0]!;
    const n = s.write(head);
    if (n < 0) return false;
    if (n < head.length) {
      queue[0] = head.subarray(n);
      return false;
    }
    queue.shift();
  }
  return true;
}
