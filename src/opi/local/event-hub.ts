import type { Logger } from "../../log/index.ts";
import type { OpiEvent } from "../../model/index.ts";

/** The backend's one event stream: instance states, crashes and task completions. */
export class EventHub {
  private readonly listeners = new Set<(e: OpiEvent) => void>();

  constructor(private readonly log: Logger) {}

  subscribe(listener: (event: OpiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: OpiEvent): void {
    for (const l of this.listeners) {
      // Events are emitted mid-scheduling: a failing subscriber must not break the backend or starve the others.
      try {
        l(event);
      } catch (err) {
        this.log.warn("event listener failed", { error: err });
      }
    }
  }
}
