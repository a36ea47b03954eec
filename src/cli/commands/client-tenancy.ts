import { CliError, type Command, type CommandContext } from "../command.ts";
import { readClientConfig, writeClientConfig } from "../client/client-config.ts";
import { Session } from "../client/session.ts";

/**
 * Orgs and spaces from the eirini client: `target [-o ORG] [-s SPACE]`,
 * `orgs`, `spaces`, `create-org`, `create-space`. Lists show what the
 * logged-in user may see (the API filters them by role); a new org or space
 * gives its creator the roles `cf create-org` / `cf create-space` give.
 */
interface Named { guid: string; name: string }

async function orgNamed(s: Session, name: string): Promise<Named> {
  const [org] = await s.api.all<Named>(`/v3/organizations?names=${encodeURIComponent(name)}`);
  if (!org) throw new CliError(`organization ${name} not found`);
  return org;
}

async function spaceNamed(s: Session, orgGuid: string, name: string, orgName: string): Promise<Named> {
  const [space] = await s.api.all<Named>(`/v3/spaces?names=${encodeURIComponent(name)}&organization_guids=${orgGuid}`);
  if (!space) throw new CliError(`space ${name} not found in organization ${orgName}`);
  return space;
}

async function me(s: Session): Promise<string> {
  const token = s.api.settings.access_token.split(".")[1] ?? "";
  try {
    return (JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { user_name?: string }).user_name ?? "";
  } catch {
    return "";
  }
}

function print(ctx: CommandContext, rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) ctx.io.out(r.map((c, i) => c.padEnd(widths[i]!)).join("   ").trimEnd());
}

export const targetCommand: Command = {
  name: "target",
  summary: "show or set the targeted org and space",
  usage: "[-o ORG] [-s SPACE]",
  options: { org: { type: "string", short: "o" }, space: { type: "string", short: "s" } },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const s = Session.open(ctx);
    const config = readClientConfig(ctx.io.env);
    const orgName = (ctx.values.org as string | undefined) ?? config.organization;
    if (ctx.values.org !== undefined || ctx.values.space !== undefined) {
      const org = await orgNamed(s, orgName);
      let spaceName = ctx.values.space as string | undefined;
      if (spaceName === undefined) {
        // A new org alone: its only space if it has exactly one, as `cf target -o` does.
        const spaces = await s.api.all<Named>(`/v3/spaces?organization_guids=${org.guid}`);
        spaceName = spaces.length === 1 ? spaces[0]!.name : "";
      }
      if (spaceName) await spaceNamed(s, org.guid, spaceName, org.name);
      writeClientConfig(ctx.io.env, { ...config, organization: org.name, space: spaceName });
    }
    const now = readClientConfig(ctx.io.env);
    ctx.io.out(`api:     ${now.api}`);
    ctx.io.out(`user:    ${await me(s)}`);
    ctx.io.out(`org:     ${now.organization}`);
    ctx.io.out(`space:   ${now.space || "(none: eirini target -s SPACE)"}`);
    return 0;
  },
};

export const orgsCommand: Command = {
  name: "orgs",
  summary: "list the orgs you can see",
  usage: "",
  options: {},
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const s = Session.open(ctx);
    const orgs = await s.api.all<Named>("/v3/organizations?order_by=name");
    print(ctx, [["name"], ...orgs.map((o) => [o.name])]);
    return 0;
  },
};

export const spacesCommand: Command = {
  name: "spaces",
  summary: "list the spaces you can see in the targeted org",
  usage: "",
  options: {},
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const s = Session.open(ctx);
    const org = await orgNamed(s, s.api.settings.organization);
    const spaces = await s.api.all<Named>(`/v3/spaces?organization_guids=${org.guid}&order_by=name`);
    print(ctx, [["name"], ...spaces.map((x) => [x.name])]);
    return 0;
  },
};

export const createOrgCommand: Command = {
  name: "create-org",
  summary: "create an org (admins, or anyone when the user_org_creation flag is on)",
  usage: "ORG",
  options: {},
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const s = Session.open(ctx);
    const name = ctx.positionals[0]!;
    await s.api.request("POST", "/v3/organizations", { name });
    ctx.io.out(`created org ${name}; target it with: eirini target -o ${name}`);
    return 0;
  },
};

export const createSpaceCommand: Command = {
  name: "create-space",
  summary: "create a space in the targeted org (or -o ORG); you become its manager and developer",
  usage: "[-o ORG] SPACE",
  options: { org: { type: "string", short: "o" } },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const s = Session.open(ctx);
    const org = await orgNamed(s, (ctx.values.org as string | undefined) ?? s.api.settings.organization);
    const name = ctx.positionals[0]!;
    const space = await s.api.request<Named>("POST", "/v3/spaces", { name, relationships: { organization: { data: { guid: org.guid } } } });
    const user = await me(s);
    // As `cf create-space`: the creator gets SpaceManager and SpaceDeveloper (and OrganizationUser first); an admin already may.
    for (const [type, rel] of [["organization_user", { organization: { data: { guid: org.guid } } }], ["space_manager", { space: { data: { guid: space.guid } } }], ["space_developer", { space: { data: { guid: space.guid } } }]] as const) {
      await s.api.request("POST", "/v3/roles", { type, relationships: { user: { data: { username: user, origin: "uaa" } }, ...rel } }).catch((err: unknown) => {
        if (!/already has/.test((err as Error).message)) throw err;
      });
    }
    ctx.io.out(`created space ${name} in org ${org.name}; target it with: eirini target -o ${org.name} -s ${name}`);
    return 0;
  },
};
