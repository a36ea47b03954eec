import type { LocalAnswer } from "./edge/types.ts";

/** gorouter's error answers (text, X-Cf-RouterError), so curl users see what they know from CF. */

const answer = (status: number, routerError: string, body: string, requestId: string): LocalAnswer => ({
  status,
  routerError,
  headers: `X-Vcap-Request-Id: ${requestId}\r\n`,
  body: body + "\n",
});

export const unknownRoute = (host: string, id: string) => answer(404, "unknown_route", `404 Not Found: Requested route ('${host}') does not exist.`, id);

export const noEndpoints = (host: string, id: string) => answer(503, "no_endpoints", `503 Service Unavailable: Requested route ('${host}') has no available endpoints.`, id);

export const badGateway = (id: string) => answer(502, "endpoint_failure", "502 Bad Gateway: Registered endpoint failed to handle the request.", id);

export const gatewayTimeout = (id: string) => answer(504, "endpoint_failure", "504 Gateway Timeout: The registered endpoint did not answer within the router's request timeout.", id);

export const invalidInstanceHeader = (id: string) => answer(400, "invalid_cf_app_instance_header", "400 Bad Request: Invalid X-CF-App-Instance Header", id);

export const unknownInstance = (host: string, guid: string, index: string, id: string) =>
  answer(400, "unknown_route", `400 Bad Request: Requested instance ('${index}') with guid ('${guid}') does not exist for route ('${host}')`, id);
