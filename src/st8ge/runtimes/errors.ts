export type RuntimeErrorCode = "InvalidRuntime" | "InvalidArchive" | "ChecksumMismatch" | "RuntimeNotFound" | "VersionNotFound" | "DownloadDisabled" | "DownloadFailed";

/** A runtime store failure with a one-line message meant for the admin or the staging log. */
export class RuntimeError extends Error {
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "RuntimeError";
  }
}
