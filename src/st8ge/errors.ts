/**
 * Why a staging failed, named as Cloud Foundry names staging errors so the
 * Cloud Controller can pass them on (`StagingError` callback `message`, build
 * `error` field) and users recognise them.
 */
export type StagingErrorCode =
  | "NoAppDetectedError"
  | "BuildpackCompileFailed"
  | "BuildpackReleaseFailed"
  | "StagingTimeExpired"
  | "InsufficientResources"
  | "StagingCancelled"
  | "InvalidPackage"
  | "BuildpackNotFound"
  | "StagerError";

/** A failed staging: `code` says what kind, `message` is the one line shown to users. */
export class StagingError extends Error {
  override name = "StagingError";
  constructor(readonly code: StagingErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** An archive entry or directory tree that may not be unpacked (traversal, bomb, bad link). */
export class UnsafeArchiveError extends Error {
  override name = "UnsafeArchiveError";
}

/** CF's exact wording when no buildpack claims the app. */
export const NO_BUILDPACK_DETECTED = "None of the buildpacks detected a compatible application";
