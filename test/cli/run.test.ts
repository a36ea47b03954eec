import { expect, test } from "bun:test";
import { CliError, runCli, type CliIO, type Command } from "../../src/cli/index.ts";

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const sink: CliIO = { out: (l) => out.push(l), err: (l) => err.push(l), env: {} };
  return { sink, out, err };
}

const echo: Command = {
  name: "echo",
  summary: "prints its argument",
  usage: "WORD [--loud]",
  help: ["  --loud  shout"],
  options: { loud: { type: "boolean" } },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const word = ctx.positionals[0]!;
    if (word === "fail") throw new CliError("it failed", 3);
    if (word === "crash") throw new Error("unexpected");
    ctx.io.out(ctx.values.loud ? word.toUpperCase() : word);
    return 0;
  },
};

test("no command prints usage and exits 2; --help exits 0", async () => {
  const a = io();
  expect(await runCli([], a.sink, [echo])).toBe(2);
  expect(a.out.join("\n")).toContain("usage: eirini <command>");
  const b = io();
  expect(await runCli(["--help"], b.sink, [echo])).toBe(0);
  expect(b.out.join("\n")).toContain("echo  prints its argument");
});

test("each command has --help", async () => {
  const a = io();
  expect(await runCli(["echo", "--help"], a.sink, [echo])).toBe(0);
  expect(a.out).toContain("usage: eirini echo WORD [--loud]");
  expect(a.out).toContain("  --loud  shout");
});

test("unknown commands and bad flags print usage and exit 2", async () => {
  const a = io();
  expect(await runCli(["nope"], a.sink, [echo])).toBe(2);
  expect(a.err[0]).toBe('eirini: unknown command "nope"');
  const b = io();
  expect(await runCli(["echo", "x", "--bogus"], b.sink, [echo])).toBe(2);
  expect(b.err[0]).toBe("eirini echo: Unknown option '--bogus'");
  expect(b.err).toContain("usage: eirini echo WORD [--loud]");
  const c = io();
  expect(await runCli(["echo"], c.sink, [echo])).toBe(2);
  const d = io();
  expect(await runCli(["echo", "a", "b"], d.sink, [echo])).toBe(2);
});

test("runs the command; failures are one line with their exit code", async () => {
  const a = io();
  expect(await runCli(["echo", "hi", "--loud"], a.sink, [echo])).toBe(0);
  expect(a.out).toEqual(["HI"]);
  const b = io();
  expect(await runCli(["echo", "fail"], b.sink, [echo])).toBe(3);
  expect(b.err).toEqual(["eirini echo: it failed"]);
  const c = io();
  expect(await runCli(["echo", "crash"], c.sink, [echo])).toBe(1);
  expect(c.err).toEqual(["eirini echo: unexpected"]);
});

test("the real command list has local, in-cluster and version with help", async () => {
  for (const name of ["local", "in-cluster", "version"]) {
    const a = io();
    expect(await runCli([name, "--help"], a.sink)).toBe(0);
    expect(a.out[0]).toStartWith(`usage: eirini ${name}`);
  }
  const v = io();
  expect(await runCli(["version"], v.sink)).toBe(0);
  expect(v.out[0]).toMatch(/^eirini \d+\.\d+\.\d+ \(bun /);
  const ic = io();
  expect(await runCli(["in-cluster"], ic.sink)).toBe(1);
  expect(ic.err[0]).toContain("not running inside a Kubernetes pod");
});
