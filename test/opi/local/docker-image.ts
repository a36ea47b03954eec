import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { pack } from "tar-stream";

/**
 * A tiny OCI image for docker-lifecycle tests, built here from nothing
 * fetched: a static Go HTTP server (Go's standard library only, built with
 * the machine's Go) as ENTRYPOINT, CMD arguments, user `web` (1000) from the
 * image's own /etc/passwd, EXPOSE 9090, an ENV of its own. Written as an OCI
 * layout directory that skopeo can push (`oci:DIR:hello`); cached outside the
 * repository. Null (with the reason) where Go is missing.
 */
const SERVER = `package main

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
)

func main() {
	greeting := "hello"
	if len(os.Args) > 2 && os.Args[1] == "--greeting" {
		greeting = os.Args[2]
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "9090"
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		env := map[string]string{}
		for _, kv := range os.Environ() {
			if i := strings.Index(kv, "="); i > 0 {
				env[kv[:i]] = kv[i+1:]
			}
		}
		json.NewEncoder(w).Encode(map[string]interface{}{"greeting": greeting, "uid": os.Getuid(), "args": os.Args, "env": env})
	})
	http.ListenAndServe(":9090", nil)
}
`;

const CACHE = process.env.EIRINI_TEST_STACK_CACHE ? join(process.env.EIRINI_TEST_STACK_CACHE, "..", "images") : "/var/cache/eirini-test/images";

const sha = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

export async function helloImage(): Promise<{ layout: string | null; reason?: string }> {
  const layout = join(CACHE, `hello-${sha(new TextEncoder().encode(SERVER)).slice(0, 12)}`);
  if (existsSync(join(layout, "index.json"))) return { layout };
  if (!Bun.which("go")) return { layout: null, reason: "Go is not installed (apt-get install golang-go)" };
  const tmp = `${layout}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, "src"), { recursive: true });
  writeFileSync(join(tmp, "src", "main.go"), SERVER);
  writeFileSync(join(tmp, "src", "go.mod"), "module hello\n\ngo 1.19\n");
  const build = Bun.spawnSync(["go", "build", "-o", join(tmp, "server"), "."], {
    cwd: join(tmp, "src"),
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tmp, CGO_ENABLED: "0", GOCACHE: join(CACHE, "go-build"), GOFLAGS: "-mod=mod", GOPROXY: "off" },
  });
  if (build.exitCode !== 0) return { layout: null, reason: `go build failed: ${build.stderr.toString().trim().slice(-300)}` };
  const server = await Bun.file(join(tmp, "server")).bytes();
  const p = pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const e of [
    { name: "etc/", type: "directory" as const, mode: 0o755 },
    { name: "tmp/", type: "directory" as const, mode: 0o1777 },
    { name: "home/web/", type: "directory" as const, mode: 0o755, uid: 1000, gid: 1000 },
  ]) await new Promise<void>((res, rej) => p.entry(e, (err) => (err ? rej(err) : res())));
  for (const [name, data, mode] of [
    ["etc/passwd", "root:x:0:0:root:/root:/nonexistent\nweb:x:1000:1000:web:/home/web:/nonexistent\n", 0o644],
    ["etc/group", "root:x:0:\nweb:x:1000:\n", 0o644],
  ] as const) await new Promise<void>((res, rej) => p.entry({ name, mode }, data, (err) => (err ? rej(err) : res())));
  await new Promise<void>((res, rej) => p.entry({ name: "server", mode: 0o755 }, Buffer.from(server), (err) => (err ? rej(err) : res())));
  p.finalize();
  await done;
  const layerTar = Buffer.concat(chunks);
  const layer = gzipSync(layerTar);
  const config = new TextEncoder().encode(
    JSON.stringify({
      architecture: process.arch === "arm64" ? "arm64" : "amd64",
      os: "linux",
      config: { Entrypoint: ["/server"], Cmd: ["--greeting", "hi-from-cmd"], User: "web", ExposedPorts: { "9090/tcp": {} }, Env: ["PATH=/", "IMAGE_VAR=from-image"], WorkingDir: "/home/web" },
      rootfs: { type: "layers", diff_ids: [`sha256:${sha(layerTar)}`] },
    }),
  );
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${sha(config)}`, size: config.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: `sha256:${sha(layer)}`, size: layer.length }],
    }),
  );
  mkdirSync(join(tmp, "blobs", "sha256"), { recursive: true });
  for (const b of [config, layer, manifest]) writeFileSync(join(tmp, "blobs", "sha256", sha(b)), b);
  writeFileSync(join(tmp, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(tmp, "index.json"),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${sha(manifest)}`, size: manifest.length, annotations: { "org.opencontainers.image.ref.name": "hello" } }] }),
  );
  rmSync(join(tmp, "src"), { recursive: true, force: true });
  rmSync(join(tmp, "server"), { force: true });
  rmSync(layout, { recursive: true, force: true });
  renameSync(tmp, layout);
  return { layout };
}
