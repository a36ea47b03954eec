import { qualified, type ResourceInfo } from "./resources.ts";

/** A `metav1.Status` failure body, as the API server sends it. */
export interface StatusBody {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure";
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason: string; message: string; field: string }[] };
  code: number;
}

export class ApiError extends Error {
  constructor(readonly body: StatusBody) {
    super(body.message);
  }
}

function status(code: number, reason: string, message: string, details?: StatusBody["details"]): ApiError {
  return new ApiError({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, ...(details ? { details } : {}), code });
}

export const notFound = (r: ResourceInfo, name: string) =>
  status(404, "NotFound", `${qualified(r)} "${name}" not found`, { name, group: r.group, kind: r.resource });

export const alreadyExists = (r: ResourceInfo, name: string) =>
  status(409, "AlreadyExists", `${qualified(r)} "${name}" already exists`, { name, group: r.group, kind: r.resource });

export const conflict = (r: ResourceInfo, name: string) =>
  status(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualified(r)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: r.group, kind: r.resource },
  );

export interface FieldError {
  field: string;
  message: string;
}

export const invalid = (r: ResourceInfo, name: string, errors: FieldError[]) =>
  status(
    422,
    "Invalid",
    `${r.kind}${r.group ? "." + r.group : ""} "${name}" is invalid: ${errors.map((e) => `${e.field}: ${e.message}`).join(", ")}`,
    { name, group: r.group, kind: r.kind, causes: errors.map((e) => ({ reason: "FieldValueInvalid", message: e.message, field: e.field })) },
  );

export const badRequest = (message: string) => status(400, "BadRequest", message);

export const forbidden = (r: ResourceInfo | { resource: string; group: string }, verb: string, namespace: string, user: string) =>
  status(
    403,
    "Forbidden",
    `${"kind" in r ? qualified(r) : r.resource} is forbidden: User "${user}" cannot ${verb} resource "${r.resource}" in API group "${r.group}"${namespace ? ` in the namespace "${namespace}"` : " at the cluster scope"}`,
    { group: r.group, kind: r.resource },
  );

export const internalError = (message: string) => status(500, "InternalError", `Internal error occurred: ${message}`);

export const expired = (requested: string, oldest: number) =>
  status(410, "Expired", `too old resource version: ${requested} (${oldest})`);

export const methodNotAllowed = () => status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");

export const unsupportedMediaType = (ct: string) => status(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml; got ${ct}`);
