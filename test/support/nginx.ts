import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "./poll.ts";
import { tempDir } from "./tmp.ts";

/**
 * A real nginx (Debian's nginx-light) terminating TLS in front of the
 * appliance, as an admin would run it: its own prefix in a temp dir, no
 * daemon, loopback only. `forwarded` adds the usual X-Forwarded-* headers;
 * `bindAddress` makes nginx connect upstream from that loopback address (so a
 * test can trust exactly the proxy and not other local clients).
 */
export const NGINX_BIN = process.env.NGINX_BIN ?? "/usr/sbin/nginx";
export const haveNginx = existsSync(NGINX_BIN);

export interface RunningNginx {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** A free loopback TCP port (bound and released; nginx takes it right after). */
export function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

export async function startNginx(opts: { upstreamPort: number; certFile: string; keyFile: string; forwarded: boolean; bindAddress?: string; port?: number }): Promise<RunningNginx> {
  const dir = tempDir("eirini-nginx-");
  const port = opts.port ?? freePort();
  const forwarded = opts.forwarded
    ? `proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $host;
        proxy_set_header X-Forwarded-Port $server_port;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`
    : "";
  writeFileSync(
    join(dir, "nginx.conf"),
    `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${opts.certFile};
    ssl_certificate_key ${opts.keyFile};
    client_max_body_size 0;
    location / {
      proxy_pass http://127.0.0.1:${opts.upstreamPort};
      proxy_http_version 1.1;
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_read_timeout 300s;
      proxy_set_header Host $http_host;
      ${opts.bindAddress ? `proxy_bind ${opts.bindAddress};` : ""}
      ${forwarded}
    }
  }
}
`,
  );
  // As root nginx would switch workers to "nobody", who cannot read the temp prefix: keep them as the test's user.
  const userLine = process.getuid?.() === 0 ? "user root;" : "";
  const conf = readFileSync(join(dir, "nginx.conf"), "utf8");
  writeFileSync(join(dir, "nginx.conf"), `${userLine}\n${conf}`);
  const proc = Bun.spawn([NGINX_BIN, "-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  await waitFor(
    async () => {
      if (proc.exitCode !== null) throw new Error(`nginx exited ${proc.exitCode}: ${await new Response(proc.stderr).text()} ${existsSync(join(dir, "error.log")) ? readFileSync(join(dir, "error.log"), "utf8") : ""}`);
      return existsSync(join(dir, "nginx.pid")) || undefined;
    },
    { timeoutMs: 10_000, what: "nginx to start" },
  );
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}
