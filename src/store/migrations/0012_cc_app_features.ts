/**
 * Per-app CF features (`/v3/apps/:guid/features/:name`): `ssh` as the user
 * set it with `cf enable-ssh` / `cf disable-ssh`. CF's default is enabled;
 * whether ssh is actually offered is a platform answer (`/ssh_enabled`).
 * Version 12 leaves 9-11 to other parts' migrations of the same release.
 */
export default {
  version: 12,
  name: "cc_app_features",
  sql: "ALTER TABLE cc_apps ADD COLUMN enable_ssh INTEGER NOT NULL DEFAULT 1;\n",
};
