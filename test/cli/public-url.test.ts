import { expect, test } from "bun:test";
import { PublicUrls } from "../../src/cli/public-url.ts";

const req = (headers: Record<string, string> = {}) => new Request("http://127.0.0.1:7080/v3", { headers });
const listener = "http://127.0.0.1:7080";

test("links follow the listener a request came in on, and the plain listener outside requests", () => {
  const urls = new PublicUrls({ trustedProxies: [] }, () => listener);
  expect(urls.run(req(), "127.0.0.1", "https://127.0.0.1:7443", () => urls.baseUrl())).toBe("https://127.0.0.1:7443");
  expect(urls.baseUrl()).toBe(listener);
});

test("forwarded headers count only from trusted proxies (addresses and CIDR blocks, IPv4-mapped too)", () => {
  const urls = new PublicUrls({ trustedProxies: ["10.0.0.0/8", "::1"] }, () => listener);
  const fwd = req({ "x-forwarded-proto": "https", "x-forwarded-host": "cf.example.test" });
  expect(urls.run(fwd, "10.1.2.3", listener, () => urls.baseUrl())).toBe("https://cf.example.test");
  expect(urls.run(fwd, "::ffff:10.1.2.3", listener, () => urls.baseUrl())).toBe("https://cf.example.test");
  expect(urls.run(fwd, "::1", listener, () => urls.baseUrl())).toBe("https://cf.example.test");
  expect(urls.run(fwd, "192.168.1.1", listener, () => urls.baseUrl())).toBe(listener);
  // A port from X-Forwarded-Port unless it is the scheme's default; the first value of a list.
  expect(urls.run(req({ "x-forwarded-proto": "https, http", "x-forwarded-host": "cf.example.test", "x-forwarded-port": "8443" }), "10.0.0.1", listener, () => urls.baseUrl())).toBe("https://cf.example.test:8443");
  expect(urls.run(req({ "x-forwarded-proto": "https", "x-forwarded-host": "cf.example.test", "x-forwarded-port": "443" }), "10.0.0.1", listener, () => urls.baseUrl())).toBe("https://cf.example.test");
  // A malformed host is ignored rather than echoed into links.
  expect(urls.run(req({ "x-forwarded-host": "evil/path?x" }), "10.0.0.1", listener, () => urls.baseUrl())).toBe(listener);
});

test("externalUrl wins everywhere", () => {
  const urls = new PublicUrls({ externalUrl: "https://cf.example.test", trustedProxies: ["10.0.0.0/8"] }, () => listener);
  expect(urls.baseUrl()).toBe("https://cf.example.test");
  expect(urls.run(req({ "x-forwarded-host": "other.test" }), "10.0.0.1", listener, () => urls.baseUrl())).toBe("https://cf.example.test");
});
