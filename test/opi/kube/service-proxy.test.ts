import { expect, test } from "bun:test";
import { PassThrough, Readable } from "node:stream";
import { silentLogger } from "../../../src/log/index.ts";
import { startServiceProxy } from "../../../src/opi/kube/index.ts";

// The laptop route path (router -> this proxy -> API server's service proxy) streams bodies both ways:
// the upstream sees the request body as a stream before the client has finished sending it, and the
// client reads the first response bytes while the upstream is still writing.
test("the service proxy streams request and response bodies instead of buffering them", async () => {
  let firstChunkSeen!: () => void;
  const firstChunk = new Promise<void>((r) => (firstChunkSeen = r));
  const upstreamOut = new PassThrough();
  let received = 0;
  const proxy = startServiceProxy({
    server: "https://api.example.test",
    namespace: "cf-apps",
    serviceForHost: () => ({ name: "svc", port: 8080 }),
    logger: silentLogger,
    async fetch(_url, init) {
      expect(init.body).toBeInstanceOf(Readable);
      init.body!.on("data", (c: Buffer) => {
        received += c.length;
        firstChunkSeen();
      });
      await new Promise((r) => init.body!.on("end", r));
      upstreamOut.write("first\n");
      return { status: 200, headers: new Headers({ "content-type": "text/plain" }), body: upstreamOut };
    },
  });
  try {
    let sendRest!: () => void;
    const rest = new Promise<void>((r) => (sendRest = r));
    const body = new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(new TextEncoder().encode("chunk-1"));
        await rest;
        c.enqueue(new TextEncoder().encode("chunk-2"));
        c.close();
      },
    });
    const answer = fetch(`http://127.0.0.1:${proxy.port}/upload`, { method: "POST", body, headers: { host: "app.apps.localhost" }, duplex: "half" } as RequestInit);
    await firstChunk; // the upstream has the first chunk while the client still holds the rest
    expect(received).toBe(7);
    sendRest();
    const res = await answer;
    expect(received).toBe(14);
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("first\n"); // before the upstream ends
    upstreamOut.end("second\n");
    let tail = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) tail += new TextDecoder().decode(r.value);
    expect(tail).toBe("second\n");
  } finally {
    proxy.stop();
  }
});
