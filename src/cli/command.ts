import type { ParseArgsOptionsConfig } from "node:util";

/** Where a command writes; injected so tests can capture output. */
export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  env: Record<string, string | undefined>;
  /** Reads a secret (prompt with echo off, or stdin); absent where there is no stdin to read. */
  readSecret?: (prompt: string) => Promise<string>;
}

export interface CommandContext {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
  io: CliIO;
}

/** One `eirini <name>` subcommand. `run` resolves to the exit code. */
export interface Command {
  name: string;
  summary: string;
  /** Usage text after `eirini <name>`, e.g. `[--port N] DIR`. */
  usage: string;
  /** Extra help lines describing flags. */
  help?: string[];
  options: ParseArgsOptionsConfig;
  /** Allowed positional argument count range. */
  positionals?: { min: number; max: number };
  run(ctx: CommandContext): Promise<number>;
}

/** Bad command line: usage is printed and the exit code is 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A failure to report as one line with a non-zero exit code. */
export class CliError extends Error {
  override name = "CliError";
  constructor(message: string, readonly exitCode = 1, options?: ErrorOptions) {
    super(message, options);
  }
}
