import { join } from "node:path";
import { createLocalExecutor } from "../../src/st8ge/index.ts";
import { runExecutorContract } from "./executor-contract.ts";
import { tempDir } from "./support.ts";

const root = tempDir("st8ge-local-");
let n = 0;
runExecutorContract("local", () => {
  const workRoot = join(root, `work-${++n}`);
  return { executor: createLocalExecutor({ workRoot, pollMs: 50 }), workRoot };
});
