import { expect, test } from "bun:test";
import { apiHostNames, bodyLimitFor, hostName, limitBody } from "../../src/cli/request-guard.ts";

test("API host names: loopback listeners answer the loopback names; a wildcard one any Host unless names are configured", () => {
  const loop = apiHostNames("127.0.0.1", []);
  expect([...loop!].sort()).toEqual(["127.0.0.1", "::1", "localhost"]);
  expect(apiHostNames("0.0.0.0", [])).toBeNull();
  expect([...apiHostNames("0.0.0.0", ["eirini.example.test:443"])!]).toContain("eirini.example.test");
  expect([...apiHostNames("10.0.0.5", ["api.test"])!].sort()).toEqual(["10.0.0.5", "api.test"]);
});

test("Host header parsing: ports and IPv6 brackets dropped, lower case; junk is null", () => {
  expect(hostName("Example.TEST:7080")).toBe("example.test");
  expect(hostName("[::1]:7080")).toBe("::1");
  expect(hostName("a:b:c")).toBeNull();
  expect(hostName(null)).toBeNull();
});

test("body limits: the first matching rule, else the default; a declared length over it is refused unread", async () => {
  const rules = [{ method: "PUT", path: /^\/big$/, maxBytes: 10 }];
  expect(bodyLimitFor(rules, "PUT", "/big")).toBe(10);
  expect(bodyLimitFor(rules, "POST", "/big", 5)).toBe(5);
  const refused = limitBody(new Request("http://x/big", { method: "PUT", body: "x".repeat(11), headers: { "content-length": "11" } }), "/big", 10);
  expect(refused).toBeInstanceOf(Response);
  expect((refused as Response).status).toBe(413);
  const chunked = limitBody(new Request("http://x/big", { method: "PUT", body: new Blob(["y".repeat(20)]).stream(), duplex: "half" } as RequestInit), "/big", 10);
  expect(chunked).not.toBeInstanceOf(Response);
  const g = chunked as Exclude<typeof chunked, Response>;
  await expect(g.req.text()).rejects.toThrow(/larger than 10 bytes/);
  expect(g.exceeded()).toBe(true);
});
