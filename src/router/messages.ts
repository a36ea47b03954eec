/** Gorouter-style error answers, so curl users see what they know from CF. */

function text(status: number, body: string, routerError: string, requestId: string): Response {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "x-cf-routererror": routerError, "x-vcap-request-id": requestId },
  });
}

export const unknownRoute = (host: string, id: string) => text(404, `404 Not Found: Requested route ('${host}') does not exist.`, "unknown_route", id);

export const noEndpoints = (host: string, id: string) => text(503, `503 Service Unavailable: Requested route ('${host}') has no available endpoints.`, "no_endpoints", id);

export const badGateway = (id: string) => text(502, "502 Bad Gateway: Registered endpoint failed to handle the request.", "endpoint_failure", id);
