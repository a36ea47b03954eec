/**
 * How a droplet is started (what CF's launcher does): with the droplet
 * unpacked at `<root>` (`<root>/app`, `<root>/deps`, `<root>/profile.d`), run
 * in `<root>/app` with HOME there, source `<root>/profile.d/*.sh`, then
 * `app/.profile.d/*.sh` and `app/.profile`, then exec the start command
 * through /bin/sh. The instance env (PORT, VCAP_*, ...) is the caller's.
 */
const SCRIPT = [
  'cd "$HOME" || exit 1',
  'for f in "$DEPS_DIR/../profile.d"/*.sh "$HOME/.profile.d"/*.sh; do [ -r "$f" ] && . "$f"; done',
  '[ -r "$HOME/.profile" ] && . "$HOME/.profile"',
  'exec /bin/sh -c "$1"',
].join("\n");

export interface Launch {
  argv: string[];
  cwd: string;
  /** Env entries the launcher needs; merge over the instance env. */
  env: Record<string, string>;
}

export function dropletLaunch(root: string, startCommand: string): Launch {
  return {
    argv: ["/bin/sh", "-c", SCRIPT, "launcher", startCommand],
    cwd: `${root}/app`,
    env: { HOME: `${root}/app`, DEPS_DIR: `${root}/deps`, TMPDIR: `${root}/tmp` },
  };
}
