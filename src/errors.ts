/**
 * The API's error type: every failure a client can cause becomes one of these and is
 * answered as `{"error": message, "code": code}` with its HTTP status (the Open Inference
 * Protocol asks for an `error` field; `code` is stable for programs).
 *
 * @module
 */

/** Stable error codes, with the HTTP status each maps to. */
export const ERROR_STATUS = {
  bad_request: 400,
  bad_image: 400,
  bad_dicom: 400,
  bad_json: 400,
  unauthorized: 401,
  forbidden: 403,
  /** on the private port behind the TCP front without its token (src/server/connections) */
  not_through_front: 403,
  not_found: 404,
  model_not_found: 404,
  method_not_allowed: 405,
  too_large: 413,
  too_many_pixels: 413,
  /** request line / head over 32 KiB (sent by the TCP front, src/server/connections) */
  uri_too_long: 414,
  header_too_large: 431,
  unsupported_media_type: 415,
  unsupported_transfer_syntax: 415,
  invalid_tensor: 422,
  unsupported_image: 422,
  model_load_failed: 422,
  modality_mismatch: 422,
  /** the client closed the connection before the answer (nginx's 499; nobody receives it) */
  aborted: 499,
  internal: 500,
  model_not_ready: 503,
  queue_full: 503,
  shutting_down: 503,
  /** the TCP front's connection limit (sent by the front itself, see src/server/connections) */
  too_many_connections: 503,
  timeout: 504,
} as const;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** An error with an HTTP status and a stable code, safe to show to clients. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.status = ERROR_STATUS[code];
  }
}
