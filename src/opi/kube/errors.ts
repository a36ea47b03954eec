/**
 * Errors from the Kubernetes API, typed at the edge: the HTTP status and
 * Status `reason` survive, and the message names what was attempted
 * (verb, resource, namespace), so a 403 reads as an RBAC fix to make.
 */
export class KubeApiError extends Error {
  override name = "KubeApiError";
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
    readonly verb: string,
    readonly resource: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  get notFound(): boolean {
    return this.status === 404;
  }
  get alreadyExists(): boolean {
    return this.status === 409 && this.reason === "AlreadyExists";
  }
  get conflict(): boolean {
    return this.status === 409 && this.reason !== "AlreadyExists";
  }
  get forbidden(): boolean {
    return this.status === 403;
  }
  get gone(): boolean {
    return this.status === 410;
  }
}

/** The API server could not be reached (refused, reset, timed out). */
export class KubeUnavailableError extends Error {
  override name = "KubeUnavailableError";
}

export function describeForbidden(verb: string, resource: string, namespace: string, serverMessage: string): string {
  return `forbidden: the appliance's Kubernetes identity may not ${verb} ${resource} in namespace "${namespace}"; grant it in a Role bound to that identity (see \`eirini install\`)${serverMessage ? ` (API server: ${serverMessage})` : ""}`;
}
