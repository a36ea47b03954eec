import { CliError, type Command } from "../command.ts";
import { errorLine } from "../client/cf-api.ts";
import { readClientConfig, writeClientConfig } from "../client/client-config.ts";

/** `eirini login`: authenticate against a CF API (ours or any), remember target and token. */
export const loginCommand: Command = {
  name: "login",
  summary: "log in to an eirini (or Cloud Foundry) API and remember the target",
  usage: "[--api URL] [-u USER] [-o ORG] [-s SPACE]   (password: prompt, stdin, EIRINI_PASSWORD or -p)",
  help: [
    "  --api URL       API endpoint (default: the last target, or http://127.0.0.1:7080)",
    "  -u USER         user name (default admin)",
    "  -p PASSWORD     password; best left out: it shows in the process list. Without it the",
    "                  password is asked for (echo off), read from stdin, or taken from EIRINI_PASSWORD",
    "  -o ORG, -s SPACE  org and space to target (default eirini / dev)",
  ],
  options: {
    api: { type: "string" },
    user: { type: "string", short: "u" },
    password: { type: "string", short: "p" },
    org: { type: "string", short: "o" },
    space: { type: "string", short: "s" },
  },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const prev = readClientConfig(ctx.io.env);
    const api = ((ctx.values.api as string | undefined) ?? prev.api).replace(/\/+$/, "");
    let password = (ctx.values.password as string | undefined) ?? ctx.io.env.EIRINI_PASSWORD;
    if (!password && ctx.io.readSecret) password = await ctx.io.readSecret("Password: ");
    if (!password) throw new CliError("no password: type it at the prompt, pipe it on stdin, or set EIRINI_PASSWORD");
    const root = await fetch(`${api}/`).then(
      (r) => r.json() as Promise<{ links?: { uaa?: { href: string } | null; login?: { href: string } | null } }>,
      (err: unknown) => {
        throw new CliError(`cannot reach ${api} (${(err as Error).message})`);
      },
    );
    const uaa = root.links?.login?.href ?? root.links?.uaa?.href;
    if (!uaa) throw new CliError(`${api} does not look like a Cloud Foundry API (no login link)`);
    const tokenEndpoint = `${uaa}/oauth/token`;
    const res = await fetch(tokenEndpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa("cf:")}`, accept: "application/json" },
      body: new URLSearchParams({ grant_type: "password", username: (ctx.values.user as string | undefined) ?? "admin", password }),
    });
    const body = (await res.json().catch(() => ({}))) as { access_token?: string; refresh_token?: string };
    if (!res.ok || !body.access_token) throw new CliError(`login failed: ${errorLine(res.status, body)}`);
    writeClientConfig(ctx.io.env, {
      api,
      access_token: body.access_token,
      refresh_token: body.refresh_token ?? "",
      token_endpoint: tokenEndpoint,
      organization: (ctx.values.org as string | undefined) ?? prev.organization,
      space: (ctx.values.space as string | undefined) ?? prev.space,
    });
    ctx.io.out(`logged in to ${api} as ${(ctx.values.user as string | undefined) ?? "admin"}`);
    return 0;
  },
};
