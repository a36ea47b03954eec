/**
 * Domain model shared by every part: zod schemas and their inferred types for
 * LRPs, tasks, staging, instances, droplets and events. Field names follow
 * Eirini's OPI and Cloud Controller (DESIGN.md 3), so they cross HTTP as is.
 */
export * from "./lrp.ts";
export * from "./instance.ts";
export * from "./task.ts";
export * from "./staging.ts";
export * from "./droplet.ts";
export * from "./events.ts";
export * from "./logs.ts";
export * from "./vcap-application.ts";
