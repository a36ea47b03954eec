/**
 * How a droplet image starts its process. The default is a shell launcher
 * that sources the buildpacks' profile scripts and then execs the start
 * command, which sits in `Cmd` so a scheduler can swap it (Kubernetes `args`)
 * without recomposing the image. Another launcher (e.g. `eirini launch`) can
 * be plugged in through the registry options.
 */
export interface Launcher {
  entrypoint(startCommand: string): { Entrypoint: string[]; Cmd: string[] };
}

const SCRIPT = [
  "cd /home/vcap/app || exit 1",
  'for f in /home/vcap/profile.d/*.sh /home/vcap/app/.profile.d/*.sh; do [ -r "$f" ] && . "$f"; done',
  'if [ $# -eq 0 ]; then echo "no start command" >&2; exit 64; fi',
  'eval exec "$@"',
].join("\n");

export const shellLauncher: Launcher = {
  entrypoint(startCommand) {
    return { Entrypoint: ["/bin/sh", "-c", SCRIPT, "launcher"], Cmd: startCommand ? [startCommand] : [] };
  },
};
