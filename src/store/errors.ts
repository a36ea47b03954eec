/** The data directory or database cannot be used; message is one line for the user. */
export class StoreError extends Error {
  override name = "StoreError";
}

/** A blob's content did not hash to the digest it was promised under. */
export class DigestMismatchError extends Error {
  override name = "DigestMismatchError";
  constructor(readonly expected: string, readonly actual: string) {
    super(`digest mismatch: expected ${expected}, content hashes to ${actual}`);
  }
}

/** A digest string is malformed or uses an algorithm we do not support. */
export class InvalidDigestError extends Error {
  override name = "InvalidDigestError";
  constructor(readonly digest: string, readonly unsupported = false) {
    super(unsupported ? `unsupported digest algorithm in ${digest} (only sha256)` : `invalid digest ${JSON.stringify(digest)}`);
  }
}

/** A stream grew past the size its caller allows. */
export class SizeLimitError extends Error {
  override name = "SizeLimitError";
  constructor(readonly limit: number) {
    super(`content exceeds the size limit of ${limit} bytes`);
  }
}
