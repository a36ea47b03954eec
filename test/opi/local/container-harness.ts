import { containerSupport } from "../../../src/container/index.ts";
import type { LocalBackendOptions } from "../../../src/opi/local/index.ts";
import { putDroplet } from "../../support/droplet.ts";
import { standInStack } from "../../support/stack-rootfs.ts";
import { localSetup, type LocalSetup } from "./harness.ts";

/**
 * Real containers for the local backend's tests: the stand-in stack with
 * Debian's nodejs, runc as root. `containersUnavailable()` gives the one line
 * a test prints when it must skip (not root, no runc, no stack).
 */
export async function containersUnavailable(): Promise<string | null> {
  const support = containerSupport();
  if (!support.ok) return `skipped: containers unavailable here (${support.checks.filter((c) => !c.ok).map((c) => c.detail).join("; ")})`;
  const stack = await standInStack("node");
  if (!stack.rootfs) return `skipped: no stand-in stack (${stack.reason})`;
  return null;
}

/** A node HTTP app for containers: listens on 0.0.0.0:$PORT; /env answers its environment, anything else its index. */
export const NODE_APP = `
const http = require("http");
http.createServer((req, res) => {
  if (req.url === "/env") { res.setHeader("content-type", "application/json"); return res.end(JSON.stringify(process.env)); }
  if (req.url === "/fail") { res.statusCode = 500; return res.end("failing"); }
  res.end(JSON.stringify({ index: process.env.CF_INSTANCE_INDEX, port: process.env.PORT, profiled: process.env.PROFILED || "" }));
}).listen(Number(process.env.PORT), "0.0.0.0", () => console.log("listening on " + process.env.PORT));
`;

export interface ContainerSetup extends LocalSetup {
  nodeHash: string;
  rootfs: string;
}

export async function containerSetup(local: Record<string, unknown> = {}, backend: Partial<LocalBackendOptions> = {}): Promise<ContainerSetup> {
  const stack = await standInStack("node");
  const s = await localSetup({ config: { local: { isolation: "container", stack: stack.rootfs!, diskPollMs: 200, ...local } }, backend });
  const nodeHash = await putDroplet(s.store.blobs, { "app/server.js": NODE_APP, "app/.profile.d/marker.sh": "export PROFILED=yes\n" }, "exec node server.js");
  return { ...s, nodeHash, rootfs: stack.rootfs! };
}
