import { Hono } from "hono";
import type { CcDeps, CcEnv } from "./deps.ts";
import { listRows } from "./list.ts";

/**
 * The V3 service resources `cf space`, `cf marketplace` and `cf services`
 * (V3 parts) read. No service broker runs on the appliance, so there are no
 * offerings, plans, instances or bindings: the lists are empty because
 * nothing exists.
 */
const LISTS: Record<string, string[]> = {
  service_instances: ["names", "guids", "space_guids", "organization_guids", "service_plan_guids", "service_plan_names", "type", "fields[space]", "fields[space.organization]", "fields[service_plan]", "fields[service_plan.service_offering]", "fields[service_plan.service_offering.service_broker]"],
  service_offerings: ["names", "guids", "space_guids", "organization_guids", "service_broker_guids", "service_broker_names", "available", "fields[service_broker]"],
  service_plans: ["names", "guids", "space_guids", "organization_guids", "service_broker_guids", "service_broker_names", "service_offering_guids", "service_offering_names", "service_instance_guids", "available", "broker_catalog_ids", "include", "fields[service_offering.service_broker]"],
  service_brokers: ["names", "guids", "space_guids"],
  service_credential_bindings: ["names", "guids", "service_instance_guids", "service_instance_names", "app_guids", "app_names", "service_plan_guids", "service_plan_names", "service_offering_guids", "service_offering_names", "type", "include"],
  service_route_bindings: ["guids", "route_guids", "service_instance_guids", "service_instance_names", "include"],
};

export function serviceRoutes(deps: CcDeps): Hono<CcEnv> {
  const r = new Hono<CcEnv>();
  for (const [name, filters] of Object.entries(LISTS)) {
    r.get(`/v3/${name}`, (c) => {
      const res = listRows(c, deps.baseUrl(), [] as { created_at: string }[], { filters: Object.fromEntries(filters.map((f) => [f, () => true])), orderBy: { name: () => "" } });
      return c.json({ pagination: res.pagination, resources: [] });
    });
  }
  return r;
}
