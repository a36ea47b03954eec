/** Longest line passed on whole; longer output is cut into pieces of this size. */
const MAX_LINE = 64 * 1024;

/**
 * Turns a byte stream into lines (without their "\n" or "\r\n"), decoding
 * UTF-8 across chunk boundaries; `end()` flushes a last unterminated line.
 */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: Uint8Array): void; end(): void } {
  const decoder = new TextDecoder();
  let rest = "";
  const emit = (line: string) => {
    const clean = line.endsWith("\r") ? line.slice(0, -1) : line;
    for (let i = 0; i < clean.length || i === 0; i += MAX_LINE) onLine(clean.slice(i, i + MAX_LINE));
  };
  return {
    push(chunk) {
      rest += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        emit(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
      }
      while (rest.length > MAX_LINE) {
        onLine(rest.slice(0, MAX_LINE));
        rest = rest.slice(MAX_LINE);
      }
    },
    end() {
      rest += decoder.decode();
      if (rest.length > 0) emit(rest);
      rest = "";
    },
  };
}
