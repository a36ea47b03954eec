import type { AppliancePart } from "../part/index.ts";
import { Sink, type SinkOptions } from "./sink.ts";

export interface SinkPart extends AppliancePart {
  sink: Sink;
}

/** The Sink as an appliance part: converging from start until stop. */
export function createSinkPart(opts: SinkOptions): SinkPart {
  const sink = new Sink({ ...opts, logger: opts.logger.child({ part: "sink" }) });
  return {
    name: "sink",
    sink,
    async start() {
      sink.start();
    },
    async stop() {
      sink.stop();
    },
  };
}
