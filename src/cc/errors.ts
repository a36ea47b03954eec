import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * A CF V3 API error: rendered as `{"errors":[{code, title, detail}]}` with
 * Cloud Controller's numeric codes and `CF-` titles, which the cf CLI maps to
 * its typed errors (ccv3/errors.go: 401 + CF-InvalidAuthToken triggers a
 * token refresh, 404 becomes ResourceNotFoundError, others UnexpectedResponse).
 */
export class CfApiError extends Error {
  override name = "CfApiError";
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: number,
    readonly title: string,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(detail, options);
  }
}

export const notFound = (what: string) => new CfApiError(404, 10010, "CF-ResourceNotFound", `${what} not found`);
export const unprocessable = (detail: string) => new CfApiError(422, 10008, "CF-UnprocessableEntity", detail);
export const messageParseError = (detail: string) => new CfApiError(400, 1001, "CF-MessageParseError", `Request invalid due to parse error: ${detail}`);
export const badQuery = (detail: string) => new CfApiError(400, 10005, "CF-BadQueryParameter", `The query parameter is invalid: ${detail}`);
export const invalidToken = () => new CfApiError(401, 1000, "CF-InvalidAuthToken", "Invalid Auth Token");
export const notAuthenticated = () => new CfApiError(401, 10002, "CF-NotAuthenticated", "Authentication error");
export const notAuthorized = () => new CfApiError(403, 10003, "CF-NotAuthorized", "You are not authorized to perform the requested action");
export const uniqueness = (detail: string) => new CfApiError(422, 10008, "CF-UnprocessableEntity", detail);
export const tooLarge = (detail: string) => new CfApiError(413, 10013, "CF-RequestEntityTooLarge", detail);
export const invalidRequest = (detail: string) => new CfApiError(400, 10004, "CF-InvalidRequest", `The request is invalid: ${detail}`);
export const packageBitsAlreadyUploaded = () => new CfApiError(422, 10008, "CF-UnprocessableEntity", "Package bits already uploaded");

export function cfErrorBody(err: CfApiError) {
  return { errors: [{ code: err.code, title: err.title, detail: err.detail }] };
}

/** Hono onError handler: CfApiError as CF JSON, anything else as CF-ServerError (detail hidden). */
export function renderError(err: Error, c: Context, log?: (err: Error) => void): Response {
  if (err instanceof CfApiError) return c.json(cfErrorBody(err), err.status);
  log?.(err);
  return c.json({ errors: [{ code: 10001, title: "CF-ServerError", detail: "An unknown error occurred." }] }, 500);
}

/** `cf push -o IMAGE` where the backend has no container runtime: refused before anything changes. */
export const dockerUnsupported = () =>
  new CfApiError(422, 10008, "CF-UnprocessableEntity", "Docker images cannot run on this Eirini appliance: its local backend has no container runtime. Push the app's source with a buildpack, or run the appliance with --backend kube.");
