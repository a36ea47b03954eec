import { expect, test } from "bun:test";
import { parseSchedulingHints, SCHEDULING_KEYS, SchedulingError } from "../../src/opi/index.ts";

// The backend-neutral reading of the scheduling annotations (the kube backend's pod spec tests are in test/opi/kube/backend.test.ts).
test("annotations and placement tags become hints; placement tags from both sources are merged once", () => {
  const hints = parseSchedulingHints(
    {
      [SCHEDULING_KEYS.nodeSelector]: "disktype=ssd, zone=a",
      [SCHEDULING_KEYS.nodeAffinity]: "zone in (a,b),!spot,gpu,arch=arm64",
      [SCHEDULING_KEYS.preferredNodeAffinity]: "tier!=batch",
      [SCHEDULING_KEYS.tolerations]: "dedicated=cf:NoSchedule,gpu",
      [SCHEDULING_KEYS.affinity]: "co-locate:cache",
      [SCHEDULING_KEYS.schedulerName]: "bin-packer",
      [SCHEDULING_KEYS.placementTags]: "seg-a,seg-b",
      "unrelated.example.com/note": "anything at all",
    },
    ["seg-a"],
  );
  expect(hints).toEqual({
    nodeSelector: { disktype: "ssd", zone: "a", "placement.cloudfoundry.org/seg-a": "true", "placement.cloudfoundry.org/seg-b": "true" },
    requiredNodeAffinity: [
      { key: "zone", operator: "In", values: ["a", "b"] },
      { key: "spot", operator: "DoesNotExist" },
      { key: "gpu", operator: "Exists" },
      { key: "arch", operator: "In", values: ["arm64"] },
    ],
    preferredNodeAffinity: [{ key: "tier", operator: "NotIn", values: ["batch"] }],
    tolerations: [
      { key: "placement.cloudfoundry.org/seg-a", operator: "Exists", effect: "NoSchedule" },
      { key: "placement.cloudfoundry.org/seg-b", operator: "Exists", effect: "NoSchedule" },
      { key: "dedicated", operator: "Equal", value: "cf", effect: "NoSchedule" },
      { key: "gpu", operator: "Exists" },
    ],
    affinity: { kind: "co-locate", appGuid: "cache" },
    schedulerName: "bin-packer",
  });
  expect(parseSchedulingHints({})).toEqual({ nodeSelector: {}, tolerations: [], affinity: { kind: "spread" } });
});

test("a bad value throws SchedulingError naming its annotation", () => {
  const bad: [string, string][] = [
    [SCHEDULING_KEYS.nodeSelector, "novalue"],
    [SCHEDULING_KEYS.nodeAffinity, "zone in (a"],
    [SCHEDULING_KEYS.preferredNodeAffinity, "Bad Key"],
    [SCHEDULING_KEYS.tolerations, "a=b:Sometimes"],
    [SCHEDULING_KEYS.affinity, "co-locate:"],
    [SCHEDULING_KEYS.schedulerName, "UPPER"],
    [SCHEDULING_KEYS.placementTags, "a b"],
  ];
  for (const [key, value] of bad) {
    const err = (() => {
      try {
        parseSchedulingHints({ [key]: value });
      } catch (e) {
        return e;
      }
    })() as Error;
    expect(err).toBeInstanceOf(SchedulingError);
    expect(err.message).toContain(key);
  }
  expect(() => parseSchedulingHints({ "scheduling.eirini.cloudfoundry.org/typo": "x" })).toThrow(/unknown scheduling annotation/);
});
