import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { silentLogger } from "../../src/log/index.ts";
import { createRouterPart } from "../../src/router/index.ts";
import { cleanupTempDirs, tempDir } from "../support/tmp.ts";
import { startUpstream, target } from "./harness.ts";

const OPENSSL = Bun.which("openssl");
if (!OPENSSL) console.log("SKIP router TLS test: no openssl to make a test certificate (apt-get install openssl)");

afterAll(cleanupTempDirs);

test.skipIf(!OPENSSL)("an HTTPS edge listener routes the same way and tells the app X-Forwarded-Proto: https", async () => {
  const dir = tempDir("eirini-router-tls-");
  const [cert, key] = [join(dir, "cert.pem"), join(dir, "key.pem")];
  const gen = Bun.spawnSync([OPENSSL!, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert], { stderr: "pipe" });
  expect(gen.exitCode).toBe(0);
  const app = startUpstream("secure-app");
  const part = createRouterPart({ domain: "apps.localhost", targets: (h) => (h === "s.apps.localhost" ? [target(app)] : []), logger: silentLogger });
  const edge = part.edge.listen({ hostname: "127.0.0.1", port: 0, tls: { cert: await Bun.file(cert).text(), key: await Bun.file(key).text() } });
  try {
    const res = await fetch(`https://127.0.0.1:${edge.port}/x`, { headers: { host: "s.apps.localhost" }, tls: { rejectUnauthorized: false } } as RequestInit);
    const body = (await res.json()) as { name: string; headers: Record<string, string> };
    expect(body.name).toBe("secure-app");
    expect(body.headers["x-forwarded-proto"]).toBe("https");
  } finally {
    await edge.stop(true);
    app.stop(true);
  }
});
