import { Hono } from "hono";
import appJs from "../../web/app.js" with { type: "text" };
import indexHtml from "../../web/index.html" with { type: "text" };
import styleCss from "../../web/style.css" with { type: "text" };
import type { AppliancePart } from "../part/index.ts";

/**
 * The web UI at `/ui`: static files embedded in the binary at build time; the
 * page itself talks to the CF V3 API and UAA like any other client.
 */
/**
 * Scripts and styles only from /ui itself (no inline script, no eval), API
 * calls only to this origin, no framing: an injected tag can run nothing and
 * send the token nowhere.
 */
export const UI_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export function createWebUiPart(): AppliancePart {
  const routes = new Hono();
  const send = (body: string, type: string) => () =>
    new Response(body, {
      headers: { "content-type": type, "cache-control": "no-cache", "x-content-type-options": "nosniff", "content-security-policy": UI_CSP, "x-frame-options": "DENY", "referrer-policy": "no-referrer" },
    });
  routes.get("/ui", (c) => c.redirect("/ui/"));
  // Imported as text; the cast undoes Bun's HTMLBundle typing of .html imports.
  routes.get("/ui/", send(indexHtml as unknown as string, "text/html; charset=utf-8"));
  routes.get("/ui/app.js", send(appJs, "text/javascript; charset=utf-8"));
  routes.get("/ui/style.css", send(styleCss, "text/css; charset=utf-8"));
  return { name: "web-ui", routes };
}
