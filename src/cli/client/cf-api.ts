import { CliError } from "../command.ts";
import { writeClientConfig, type ClientConfig } from "./client-config.ts";

interface CfErrorBody {
  errors?: { code?: number; title?: string; detail?: string }[];
  error?: string;
  error_description?: string;
}

export interface Paginated<T> {
  pagination: { total_results: number; next: { href: string } | null };
  resources: T[];
}

/** One readable line from a CF V3 or UAA error body. */
export function errorLine(status: number, body: unknown): string {
  const b = (body ?? {}) as CfErrorBody;
  const e = b.errors?.[0];
  if (e) return `${e.detail ?? e.title ?? "error"}${e.title ? ` (${e.title})` : ""}`;
  if (b.error_description) return b.error_description;
  return `HTTP ${status}`;
}

/**
 * A small CF V3 client for the eirini CLI: bearer auth from the client
 * config, one transparent refresh on an expired token, errors as one line.
 */
export class CfApi {
  constructor(
    private config: ClientConfig,
    private readonly env: Record<string, string | undefined>,
  ) {}

  get target(): string {
    return this.config.api;
  }

  get settings(): ClientConfig {
    return this.config;
  }

  async request<T = unknown>(method: string, path: string, body?: unknown, init: { raw?: BodyInit; headers?: Record<string, string>; allow404?: boolean } = {}): Promise<T> {
    const url = path.startsWith("http") ? path : `${this.config.api}${path}`;
    const send = () => {
      const headers: Record<string, string> = { accept: "application/json", ...init.headers };
      if (this.config.access_token) headers.authorization = `bearer ${this.config.access_token}`;
      if (body !== undefined) headers["content-type"] = "application/json";
      return fetch(url, { method, headers, body: init.raw ?? (body === undefined ? undefined : JSON.stringify(body)) }).catch((err: unknown) => {
        throw new CliError(`cannot reach ${this.config.api} (${(err as Error).message}); is the appliance running?`, 1, { cause: err });
      });
    };
    let res = await send();
    if (res.status === 401 && this.config.refresh_token && (await this.refresh())) res = await send();
    if (res.status === 404 && init.allow404) return null as T;
    const text = await res.text();
    const parsed = text ? safeJson(text) : undefined;
    if (res.status === 401) throw new CliError(`not logged in or session expired: ${errorLine(401, parsed)}; run \`eirini login\``);
    if (!res.ok) throw new CliError(errorLine(res.status, parsed));
    return parsed as T;
  }

  get<T>(path: string) {
    return this.request<T>("GET", path);
  }

  /** Every resource of a paginated list. */
  async all<T>(path: string): Promise<T[]> {
    const out: T[] = [];
    let next: string | null = path;
    while (next) {
      const page: Paginated<T> = await this.get<Paginated<T>>(next);
      out.push(...page.resources);
      next = page.pagination.next?.href ?? null;
    }
    return out;
  }

  private async refresh(): Promise<boolean> {
    if (!this.config.token_endpoint) return false;
    const res = await fetch(this.config.token_endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${btoa("cf:")}`, accept: "application/json" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: this.config.refresh_token }),
    }).catch(() => null);
    if (!res?.ok) return false;
    const tokens = (await res.json()) as { access_token: string; refresh_token?: string };
    this.config = { ...this.config, access_token: tokens.access_token, refresh_token: tokens.refresh_token ?? this.config.refresh_token };
    writeClientConfig(this.env, this.config);
    return true;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { error_description: text.slice(0, 200) };
  }
}
