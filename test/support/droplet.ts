import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import type { BlobStore } from "../../src/store/index.ts";

export interface DropletFile {
  content: string | Uint8Array;
  mode?: number;
}

/**
 * Builds a droplet .tgz in CF layout (`./app`, `./deps`, `./profile.d`,
 * `./tmp`, `./logs`, `./staging_info.yml`) from in-memory files keyed by
 * path inside the droplet (e.g. "app/server.js", "profile.d/env.sh").
 */
export async function buildDroplet(files: Record<string, string | DropletFile>, startCommand: string | null): Promise<Uint8Array> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => void chunks.push(c as Buffer));
  const ended = new Promise<void>((r) => pack.on("end", () => r()));
  const add = (name: string, content: string | Uint8Array, mode: number) =>
    new Promise<void>((res, rej) => pack.entry({ name, mode }, Buffer.from(content), (e) => (e ? rej(e) : res())));
  for (const d of ["./app/", "./deps/", "./profile.d/", "./tmp/", "./logs/"]) pack.entry({ name: d, type: "directory", mode: 0o755 });
  const info = startCommand === null ? "detected_buildpack: test\n" : `detected_buildpack: test\nstart_command: ${JSON.stringify(startCommand)}\n`;
  await add("./staging_info.yml", info, 0o644);
  for (const [path, f] of Object.entries(files)) {
    const file = typeof f === "string" ? { content: f } : f;
    await add(`./${path}`, file.content, file.mode ?? 0o644);
  }
  pack.finalize();
  await ended;
  return gzipSync(Buffer.concat(chunks));
}

/** Builds a droplet and stores it as a blob; returns its hash (the blob digest without `sha256:`). */
export async function putDroplet(blobs: BlobStore, files: Record<string, string | DropletFile>, startCommand: string | null): Promise<string> {
  const { digest } = await blobs.putBytes(await buildDroplet(files, startCommand));
  return digest.slice("sha256:".length);
}

/**
 * A tiny Bun HTTP app: answers every path with JSON about itself
 * (index, port, env, profile.d marker), `/fail` with 500, and echoes
 * WebSocket messages. Served on $PORT.
 */
export const HTTP_APP = `
const port = Number(process.env.PORT);
Bun.serve({
  port,
  hostname: "127.0.0.1",
  fetch(req, server) {
    const url = new URL(req.url);
    if (req.headers.get("upgrade") === "websocket" && server.upgrade(req)) return;
    if (url.pathname === "/fail") return new Response("failing", { status: 500 });
    if (url.pathname === "/echo") return new Response(req.body, { headers: { "x-got-length": req.headers.get("content-length") ?? "" } });
    if (url.pathname === "/stream") {
      const body = new ReadableStream({ async start(c) { for (let i = 0; i < 3; i++) { c.enqueue(new TextEncoder().encode("chunk" + i + "\\n")); await Bun.sleep(5); } c.close(); } });
      return new Response(body);
    }
    const headers = Object.fromEntries(req.headers);
    return Response.json({ index: process.env.CF_INSTANCE_INDEX, port, path: url.pathname, headers, profiled: process.env.PROFILED ?? "", home: process.env.HOME, vcap: JSON.parse(process.env.VCAP_APPLICATION ?? "{}") });
  },
  websocket: { message(ws, msg) { ws.send("echo:" + msg); } },
});
console.log("listening on " + port);
console.error("instance " + process.env.CF_INSTANCE_INDEX + " ready");
`;

/** Droplet files for HTTP_APP with a `.profile.d` script that sets PROFILED. */
export function httpAppFiles(): Record<string, string | DropletFile> {
  return {
    "app/server.js": HTTP_APP,
    "app/.profile.d/marker.sh": "export PROFILED=yes\n",
  };
}

export const HTTP_START = `exec ${process.execPath} server.js`;
