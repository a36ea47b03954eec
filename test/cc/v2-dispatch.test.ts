import { expect, test } from "bun:test";
import { isCfV2Path } from "../../src/cc/v2.ts";

test("CF V2 paths and the registry's /v2/ namespace are told apart by the registry's grammar", () => {
  for (const p of ["/v2/info", "/v2/services", "/v2/spaces/abc/summary", "/v2/apps", "/v2/service_instances"]) expect(isCfV2Path(p)).toBe(true);
  for (const p of [
    "/v2", "/v2/", "/v2/_catalog", "/v2/token",
    "/v2/library/busybox/manifests/latest", "/v2/spaces/x/manifests/latest", "/v2/info/blobs/sha256:ab",
    "/v2/a/blobs/uploads/", "/v2/a/b/c/tags/list", "/v2/a/referrers/sha256:ab",
  ]) expect(isCfV2Path(p)).toBe(false);
});
