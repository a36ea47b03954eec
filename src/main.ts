#!/usr/bin/env bun
/** Entry point of the `eirini` binary. */
import { runCli } from "./cli/index.ts";
import { readSecretFromStdin } from "./cli/client/read-secret.ts";

const code = await runCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(line + "\n"),
  err: (line) => process.stderr.write(line + "\n"),
  env: process.env,
  readSecret: (prompt) => readSecretFromStdin(prompt),
});
process.exit(code);
