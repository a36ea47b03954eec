/**
 * Reads a secret the way `cf login` does: from a prompt with echo off when
 * stdin is a terminal, else the first line of stdin (`echo pw | eirini login`).
 * Never from the command line, where every user of the machine sees it.
 */
export async function readSecretFromStdin(prompt: string, write: (s: string) => void = (s) => process.stderr.write(s)): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) {
    write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    try {
      return await new Promise<string>((resolve, reject) => {
        let value = "";
        const onData = (buf: Buffer) => {
          for (const ch of buf.toString("utf8")) {
            if (ch === "\r" || ch === "\n" || ch === "\u0004") {
              stdin.off("data", onData);
              write("\n");
              return resolve(value);
            }
            if (ch === "\u0003") {
              stdin.off("data", onData);
              return reject(new Error("interrupted"));
            }
            if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
            else value += ch;
          }
        };
        stdin.on("data", onData);
      });
    } finally {
      stdin.setRawMode(false);
      stdin.pause();
    }
  }
  let text = "";
  for await (const chunk of stdin as AsyncIterable<Buffer>) {
    text += chunk.toString("utf8");
    const nl = text.indexOf("\n");
    if (nl >= 0) return text.slice(0, nl).replace(/\r$/, "");
    if (text.length > 64 * 1024) break;
  }
  return text.replace(/\r?\n$/, "");
}
