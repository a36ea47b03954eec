import { afterAll, expect, test } from "bun:test";
import { firstStart } from "../../../src/cli/first-start.ts";
import { storeAdminSecret } from "../../../src/opi/kube/admin-secret.ts";
import { createKubeClient } from "../../../src/opi/kube/index.ts";
import { openStore } from "../../../src/store/index.ts";
import { startKubeEmulator } from "../../support/kube/index.ts";
import { cleanupTempDirs, tempDir } from "../../support/tmp.ts";

afterAll(cleanupTempDirs);

// Issue 13, item 5: in a cluster the generated admin password goes to a Secret, not to stdout (pod logs).
test("a generated admin password is kept in the Secret eirini-admin before the admin user exists", async () => {
  const kube = await startKubeEmulator({ namespaces: ["eirini-apps"] });
  const store = openStore(tempDir());
  try {
    const client = await createKubeClient({ kubeconfig: kube.writeKubeconfig(tempDir()), namespace: "eirini-apps", timeoutMs: 2000 });
    let where = "";
    const first = await firstStart(store, {}, async (pw) => {
      expect(store.users.find("admin")).toBeNull();
      where = await storeAdminSecret(client, pw);
    });
    expect(where).toBe("eirini-apps/eirini-admin");
    const secret = kube.get("secrets", "eirini-apps", "eirini-admin")!;
    const password = Buffer.from((secret.data as Record<string, string>).password!, "base64").toString();
    expect(password).toBe(first.generatedAdminPassword!);
    expect(await store.users.verify("admin", password)).not.toBeNull();
    // A second store (a reinstall over an old Secret) replaces it.
    expect(await storeAdminSecret(client, "another")).toBe("eirini-apps/eirini-admin");
    expect(Buffer.from((kube.get("secrets", "eirini-apps", "eirini-admin")!.data as Record<string, string>).password!, "base64").toString()).toBe("another");
  } finally {
    store.close();
    await kube.stop();
  }
});

test("when the password cannot be kept, no admin user is created (the next start tries again)", async () => {
  const store = openStore(tempDir());
  try {
    await expect(firstStart(store, {}, async () => Promise.reject(new Error("forbidden")))).rejects.toThrow("forbidden");
    expect(store.users.find("admin")).toBeNull();
  } finally {
    store.close();
  }
});
