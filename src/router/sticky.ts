/**
 * Sticky sessions as gorouter does them: an app that sets JSESSIONID gets a
 * `__VCAP_ID__` cookie naming the instance next to it; a request carrying
 * both goes back to that instance while it is routed.
 */
export const STICKY_COOKIE = "JSESSIONID";
export const VCAP_COOKIE = "__VCAP_ID__";

/** The instance a request asks to stick to: `__VCAP_ID__`, honoured only with a JSESSIONID beside it. */
export function stickyInstance(cookieHeader: string): string {
  if (!cookieHeader || !cookieHeader.includes(VCAP_COOKIE)) return "";
  let session = false;
  let vcap = "";
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name === STICKY_COOKIE) session = true;
    else if (name === VCAP_COOKIE) vcap = part.slice(eq + 1).trim();
  }
  return session ? vcap : "";
}

/**
 * The `Set-Cookie` line for `__VCAP_ID__`, or "" when none is due: due when
 * the app set JSESSIONID (copying its Max-Age/Expires, Secure, SameSite,
 * Partitioned) or when the request stuck to an instance that is gone, and
 * not when the app set `__VCAP_ID__` itself.
 */
export function vcapCookieLine(setCookies: string[], instanceGuid: string, requestedInstance: string): string {
  let due = requestedInstance !== "" && requestedInstance !== instanceGuid;
  let attrs = "";
  for (const line of setCookies) {
    const value = line.slice(line.indexOf(":") + 1).trim();
    const name = value.slice(0, value.indexOf("=")).trim();
    if (name === VCAP_COOKIE) return "";
    if (name !== STICKY_COOKIE) continue;
    due = true;
    attrs = "";
    for (const a of value.split(";").slice(1)) {
      const [k = "", v] = a.split("=").map((x) => x.trim());
      const key = k.toLowerCase();
      if (key === "max-age" || key === "expires" || key === "samesite") attrs += `; ${k}=${v ?? ""}`;
      else if (key === "secure" || key === "partitioned") attrs += `; ${k}`;
    }
  }
  return due ? `Set-Cookie: ${VCAP_COOKIE}=${instanceGuid}; Path=/; HttpOnly${attrs}\r\n` : "";
}
