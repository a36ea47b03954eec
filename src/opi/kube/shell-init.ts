/**
 * PID 1 of app and task containers when there is no launcher image: a
 * POSIX-sh init that works in any stack image.
 *
 * Why not `exec` the start command: the kernel delivers a signal to a
 * namespace's PID 1 only if PID 1 installed a handler for it, so an app that
 * relies on SIGTERM's default action (most do: node, a shell script, sleep)
 * ignores the kubelet's SIGTERM as PID 1, and every stop, scale-down and
 * delete waits out the 30 s grace period before SIGKILL.
 *
 * So the shell stays PID 1 with a SIGTERM/SIGINT trap and runs the command
 * as a child; the trap sends SIGTERM to the command (a simple start command
 * is the app itself: `sh -c` execs it), then PID 1 waits for it and exits
 * with its status (143 when SIGTERM ended it). When PID 1 exits the kernel
 * kills whatever else is left in the container's PID namespace (what a
 * compound start command started). Not `kill 0`: the process group of a
 * PID 1 that did not get its own session (a test's unshare, the emulator's
 * local pods) reaches beyond the container. The trap is set before the
 * child starts (a child gets caught signals reset to their default action),
 * and the wait loop survives the trap interrupting `wait`.
 */
const SUPERVISE = [
  `trap 'kill -TERM "$child" 2>/dev/null' TERM INT`,
  "__RUN__ &",
  "child=$!",
  'while :; do wait "$child"; rc=$?; kill -0 "$child" 2>/dev/null || exit "$rc"; done',
];

const supervise = (run: string) => SUPERVISE.map((l) => l.replace("__RUN__", run));

const PROFILE = [
  // CF's launcher sets DEPS_DIR: buildpacks' profile.d scripts find their runtimes through it ($DEPS_DIR/<index>/...).
  'export DEPS_DIR="${DEPS_DIR:-/home/vcap/deps}"',
  "cd /home/vcap/app 2>/dev/null || true",
  'for f in /home/vcap/profile.d/*.sh /home/vcap/app/.profile.d/*.sh; do [ -r "$f" ] && . "$f"; done',
];

const INDEX_FROM_ORDINAL = 'export CF_INSTANCE_INDEX="${POD_NAME##*-}"';

/** `/bin/sh -c <this> launcher "<start command>"` for a droplet app: index from the pod ordinal, profile.d, supervised start command. */
export const APP_INIT = [INDEX_FROM_ORDINAL, ...PROFILE, ...supervise('/bin/sh -c "$1"')].join("\n");

/** The same for a task: CF_INSTANCE_INDEX stays 0 (a job pod's name ends in a random suffix, not an ordinal). */
export const TASK_INIT = [...PROFILE, ...supervise('/bin/sh -c "$1"')].join("\n");

/** `/bin/sh -c <this> launcher ARGV...` for a docker image with a command: index only, argv run as given. */
export const DOCKER_INIT = [INDEX_FROM_ORDINAL, ...supervise('"$@"')].join("\n");
