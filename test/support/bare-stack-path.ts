import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";

/**
 * A stack as the local executor sees it without containers: a PATH holding
 * only the plain tools cflinuxfs4 has (shell utilities, curl, tar, gzip), and
 * no node, python, ruby or go. Staging and the droplet run with PATH = this.
 */
const TOOLS = [
  "awk", "basename", "cat", "chmod", "cp", "curl", "cut", "date", "dirname", "env", "find", "grep", "gzip", "head", "id", "ln", "ls",
  "mkdir", "mktemp", "mv", "readlink", "rm", "sed", "sha256sum", "sleep", "sort", "tail", "tar", "touch", "tr", "uname", "wc", "xargs",
];

export function bareStackPath(root: string): string {
  const dir = join(root, "bare-stack-bin");
  mkdirSync(dir, { recursive: true });
  for (const t of TOOLS) {
    const p = Bun.which(t, { PATH: "/usr/bin:/bin" });
    if (p) symlinkSync(p, join(dir, t));
  }
  return dir;
}

