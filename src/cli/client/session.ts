import { CliError, type CommandContext } from "../command.ts";
import { CfApi } from "./cf-api.ts";
import { readClientConfig } from "./client-config.ts";

export interface AppResource {
  guid: string;
  name: string;
  state: "STARTED" | "STOPPED";
  lifecycle: { type: string; data: { buildpacks?: string[]; stack?: string } };
}

export interface ProcessResource {
  guid: string;
  type: string;
  command: string | null;
  instances: number;
  memory_in_mb: number;
  disk_in_mb: number;
}

export interface InstanceStat {
  type: string;
  index: number;
  state: string;
  uptime?: number;
  host?: string;
  instance_ports?: { external: number; internal: number }[];
  usage?: { mem?: number; cpu?: number };
  details?: string | null;
}

/** A logged-in client bound to the targeted org and space. */
export class Session {
  private spaceGuid: string | undefined;

  constructor(readonly api: CfApi) {}

  static open(ctx: CommandContext): Session {
    const config = readClientConfig(ctx.io.env);
    if (!config.access_token) throw new CliError("not logged in; run `eirini login` first");
    return new Session(new CfApi(config, ctx.io.env));
  }

  /** A session plus the app named by the command's first argument (`eirini <cmd> NAME ...`). */
  static async forApp(ctx: CommandContext): Promise<{ s: Session; app: AppResource }> {
    const s = Session.open(ctx);
    return { s, app: await s.app(ctx.positionals[0]!) };
  }

  async space(): Promise<string> {
    if (this.spaceGuid) return this.spaceGuid;
    const { organization, space } = this.api.settings;
    const orgs = await this.api.all<{ guid: string }>(`/v3/organizations?names=${encodeURIComponent(organization)}`);
    if (!orgs[0]) throw new CliError(`organization ${organization} not found`);
    const spaces = await this.api.all<{ guid: string }>(`/v3/spaces?names=${encodeURIComponent(space)}&organization_guids=${orgs[0].guid}`);
    if (!spaces[0]) throw new CliError(`space ${space} not found in organization ${organization}`);
    return (this.spaceGuid = spaces[0].guid);
  }

  async findApp(name: string): Promise<AppResource | null> {
    const apps = await this.api.all<AppResource>(`/v3/apps?names=${encodeURIComponent(name)}&space_guids=${await this.space()}`);
    return apps[0] ?? null;
  }

  async app(name: string): Promise<AppResource> {
    const app = await this.findApp(name);
    if (!app) throw new CliError(`app ${name} not found`);
    return app;
  }

  async processes(appGuid: string): Promise<ProcessResource[]> {
    return this.api.all<ProcessResource>(`/v3/apps/${appGuid}/processes`);
  }

  async stats(processGuid: string): Promise<InstanceStat[]> {
    return (await this.api.get<{ resources: InstanceStat[] }>(`/v3/processes/${processGuid}/stats`)).resources;
  }

  async routeUrls(appGuid: string): Promise<string[]> {
    const routes = await this.api.all<{ url: string }>(`/v3/apps/${appGuid}/routes`);
    return routes.map((r) => r.url);
  }

  /** Waits for an asynchronous job (Location of a 202) to finish. */
  async waitJob(jobUrl: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await this.api.get<{ state: string; errors?: { detail?: string; title?: string }[] }>(jobUrl);
      if (job.state === "COMPLETE") return;
      if (job.state === "FAILED") throw new CliError(job.errors?.[0]?.detail ?? "job failed");
      if (Date.now() > deadline) throw new CliError(`timed out waiting for job ${jobUrl}`);
      await Bun.sleep(100);
    }
  }
}

/** `https://host` + app port into a printable route URL. */
export function routeUrl(target: string, url: string): string {
  const port = new URL(target).port;
  const host = url.replace(/^https?:\/\//, "");
  return `http://${host}${port && !host.includes(":") ? `:${port}` : ""}`;
}
