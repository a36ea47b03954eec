import { parseBasicAuth } from "../auth/index.ts";
import { parseScope, SERVICE, type Access, type Principal } from "./auth.ts";
import { OciError } from "./errors.ts";
import { API_VERSION } from "./http-common.ts";
import type { Registry } from "./registry.ts";

const unauthorized = (message: string) =>
  new OciError("UNAUTHORIZED", message, 401, null, { "WWW-Authenticate": `Basic realm="${SERVICE}"` });

function scopes(raw: string[]): Access[] {
  return raw.flatMap((s) => s.split(" ")).filter(Boolean).flatMap((s) => parseScope(s) ?? []);
}

/**
 * The Docker token endpoint (`GET /v2/token?service=&scope=`, Basic auth) and
 * its OAuth2 form (`POST`, `grant_type=password`). Grants are the intersection
 * of what was asked for and what the credentials allow; no credentials get
 * only what anonymous pull allows.
 */
export async function token(req: Request, url: URL, registry: Registry): Promise<Response> {
  let principal: Principal | null = null;
  let wanted: Access[];
  if (req.method === "POST") {
    const form = new URLSearchParams(await req.text());
    if (form.get("grant_type") !== "password") {
      return Response.json({ error: "unsupported_grant_type" }, { status: 400, headers: API_VERSION });
    }
    principal = await registry.auth.verifyBasic(form.get("username") ?? "", form.get("password") ?? "");
    if (!principal) return Response.json({ error: "invalid_grant" }, { status: 401, headers: API_VERSION });
    wanted = scopes(form.getAll("scope"));
  } else {
    const header = req.headers.get("authorization");
    if (header) {
      if (!parseBasicAuth(header)) throw unauthorized("token requests take Basic credentials");
      principal = await registry.auth.basic(header);
      if (!principal) throw unauthorized("invalid username or password");
    } else if (!registry.config.anonymousPull) {
      throw unauthorized("authentication required");
    }
    wanted = scopes(url.searchParams.getAll("scope"));
  }
  const t = registry.auth.issue(principal, wanted);
  return Response.json(
    { token: t.token, access_token: t.token, expires_in: t.expiresIn, issued_at: t.issuedAt, scope: t.access.map((a) => `${a.type}:${a.name}:${a.actions.join(",")}`).join(" ") },
    { headers: { ...API_VERSION, "Cache-Control": "no-store" } },
  );
}
