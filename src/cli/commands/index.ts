import type { Command } from "../command.ts";
import { appCommand, appsCommand } from "./client-apps.ts";
import { buildpacksCommand } from "./buildpacks.ts";
import { runtimesCommand } from "./runtimes.ts";
import { envCommand, setEnvCommand, unsetEnvCommand } from "./client-env.ts";
import { deleteCommand, restartCommand, startCommand, stopCommand } from "./client-lifecycle.ts";
import { loginCommand } from "./client-login.ts";
import { logsCommand } from "./client-logs.ts";
import { pushCommand } from "./client-push.ts";
import { scaleCommand } from "./client-scale.ts";
import { runTaskCommand } from "./client-task.ts";
import { createOrgCommand, createSpaceCommand, orgsCommand, spacesCommand, targetCommand } from "./client-tenancy.ts";
import { doctorCommand } from "./doctor.ts";
import { inClusterCommand } from "./in-cluster.ts";
import { installCommand } from "./install.ts";
import { launchCommand } from "./launch.ts";
import { imageCommand } from "./image.ts";
import { localCommand } from "./local.ts";
import { registryCommand } from "./registry.ts";
import { stageCommand } from "./stage.ts";
import { stackCommand } from "./stack.ts";
import { versionCommand } from "./version.ts";

/** Every `eirini` subcommand, in the order `eirini --help` lists them. */
export const commands: Command[] = [
  localCommand,
  inClusterCommand,
  installCommand,
  doctorCommand,
  launchCommand,
  versionCommand,
  registryCommand,
  stackCommand,
  imageCommand,
  stageCommand,
  buildpacksCommand,
  runtimesCommand,
  // Client commands: talk to a CF V3 API over HTTP like any client.
  loginCommand,
  targetCommand,
  orgsCommand,
  spacesCommand,
  createOrgCommand,
  createSpaceCommand,
  pushCommand,
  appsCommand,
  appCommand,
  scaleCommand,
  startCommand,
  stopCommand,
  restartCommand,
  deleteCommand,
  logsCommand,
  envCommand,
  setEnvCommand,
  unsetEnvCommand,
  runTaskCommand,
];
