/**
 * The server's name and version, as `GET /v2` reports them (Open Inference Protocol server
 * metadata); also the OpenAPI document's version and a DICOM SEG's software version.
 *
 * @module
 */

/** Server name, version and the protocol extensions it supports. */
export const SERVER_INFO = {
  name: "tinyunet-edge",
  version: "0.1.0",
  extensions: ["binary_tensor_data"],
};
