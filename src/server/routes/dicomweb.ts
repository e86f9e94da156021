/**
 * DICOMweb for the DICOM node (PS3.18):
 *
 * - `POST /dicomweb/studies` (STOW-RS): a `multipart/related; type="application/dicom"`
 *   body with one or more instances. Each is segmented by the model its Modality routes
 *   to (src/dicom_node/routing.ts) and its SEG stored (and sent on to the configured
 *   destinations). The answer is a PS3.18 Store Instances Response (`application/dicom+json`):
 *   Referenced SOP Sequence = the SEGs made (each with its Retrieve URL and a Source Image
 *   Sequence naming the instance it segments), Failed SOP Sequence = instances not
 *   segmented with a Failure Reason (0x0122: no model for the Modality; 0xC000: cannot be
 *   decoded; 0xA700: out of resources, try again; 0x0110: a fault of this node). 200 all segmented, 202 some, 409 none.
 * - `GET /dicomweb/studies/{study}/series/{series}/instances/{instance}` (WADO-RS): a SEG
 *   this node made, while the store keeps it (the newest `TINYUNET_SEG_RETENTION`), as
 *   `multipart/related; type="application/dicom"` (or the bare file for
 *   `Accept: application/dicom`).
 *
 * Auth as the rest of the API (an `infer` key when keys are configured). The DICOM parser is
 * imported on first use, not at start-up.
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { readRequestBytes } from "../read_body.ts";
import type { Context } from "hono";
import { ApiError } from "../../errors.ts";
import { mediaParams, parseMultipart, writeMultipart } from "../../dicom_node/multipart.ts";
import type { DicomNode, Received } from "../../dicom_node/node.ts";
import { failureStatus, STATUS } from "../../dicom_node/statuses.ts";
import { SEGMENTATION_STORAGE } from "../../dicom_node/sop_classes.ts";
import { errorResponses, openApiApp } from "../openapi_app.ts";
import { binary } from "../openapi_schemas.ts";
import type { AppContext } from "../context.ts";
import type { AppEnv } from "../env.ts";
import { requestSignal } from "../request_signal.ts";

const UID_PARAM = (name: string, description: string) =>
  z.string().regex(/^[0-9.]{1,64}$/, "a DICOM UID").openapi({
    param: { name, in: "path" },
    description,
    example: "2.25.1234",
  });

const stowRoute = createRoute({
  method: "post",
  path: "/dicomweb/studies",
  tags: ["dicomweb"],
  summary: "STOW-RS: segment DICOM instances; the answer references the SEGs made",
  request: {
    body: {
      required: true,
      description: "one or more DICOM Part 10 instances",
      content: {
        "multipart/related": {
          schema: binary('multipart/related; type="application/dicom"; boundary=…'),
        },
      },
    },
  },
  responses: {
    200: {
      description: "every instance segmented (PS3.18 Store Instances Response)",
      content: { "application/dicom+json": { schema: z.record(z.string(), z.unknown()) } },
    },
    202: {
      description: "some instances segmented; the Failed SOP Sequence lists the others",
      content: { "application/dicom+json": { schema: z.record(z.string(), z.unknown()) } },
    },
    409: {
      description: "no instance segmented; the Failed SOP Sequence says why for each",
      content: { "application/dicom+json": { schema: z.record(z.string(), z.unknown()) } },
    },
    ...errorResponses(["bad_request", "unsupported_media_type", "unauthorized"]),
  },
});

const wadoRoute = createRoute({
  method: "get",
  path: "/dicomweb/studies/{study}/series/{series}/instances/{instance}",
  tags: ["dicomweb"],
  summary: "WADO-RS: a SEG this node made (while retained)",
  request: {
    params: z.object({
      study: UID_PARAM("study", "Study Instance UID"),
      series: UID_PARAM("series", "the SEG's Series Instance UID"),
      instance: UID_PARAM("instance", "the SEG's SOP Instance UID"),
    }),
  },
  responses: {
    200: {
      description: "the SEG",
      content: {
        "multipart/related": { schema: binary('multipart/related; type="application/dicom"') },
        "application/dicom": { schema: binary("DICOM Segmentation") },
      },
    },
    ...errorResponses(["bad_request", "not_found", "unauthorized"]),
  },
});

type Json = Record<string, { vr: string; Value?: unknown[] }>;

const ui = (v: string) => ({ vr: "UI", Value: [v] });
const us = (v: number) => ({ vr: "US", Value: [v] });
const ur = (v: string) => ({ vr: "UR", Value: [v] });

function retrieveUrl(base: string, study: string, series: string, instance: string): string {
  return `${base}/dicomweb/studies/${study}/series/${series}/instances/${instance}`;
}

/** A Store Instances Response and its status (200 all stored, 202 some, 409 none). */
interface StowOutcome {
  response: Json;
  status: 200 | 202 | 409;
}

async function stow(c: Context<AppEnv>, node: DicomNode, timeoutMs: number): Promise<StowOutcome> {
  const { type, params } = mediaParams(c.req.header("content-type") ?? "");
  if (type !== "multipart/related") {
    throw new ApiError(
      "unsupported_media_type",
      `STOW-RS takes multipart/related; type="application/dicom" (got ${
        type || "no Content-Type"
      })`,
    );
  }
  const partType = (params.type ?? "application/dicom").toLowerCase();
  if (partType !== "application/dicom") {
    throw new ApiError(
      "unsupported_media_type",
      `only type="application/dicom" parts are accepted (got ${partType})`,
    );
  }
  const body = await readRequestBytes(c.req.raw);
  const parts = parseMultipart(body, params.boundary ?? "");
  if (parts.length === 0) throw new ApiError("bad_request", "the multipart body has no parts");
  const base = new URL(c.req.url).origin;
  const signal = requestSignal(c, timeoutMs);
  const referenced: Json[] = [];
  const failed: Json[] = [];
  let study: string | undefined;
  for (const part of parts) {
    const partMedia = mediaParams(part.contentType || "application/dicom").type;
    if (partMedia !== "application/dicom") {
      failed.push({ "00081197": us(STATUS.cannotUnderstand) });
      continue;
    }
    let result: Received;
    try {
      result = await node.receive(part.bytes, {
        via: "stow",
        session: c.get("requestId"),
      }, signal);
    } catch (err) {
      failed.push({ ...(await sourceRef(part.bytes)), "00081197": us(failureStatus(err).code) });
      continue;
    }
    const facts = result.outcome.facts;
    study ??= facts.studyInstanceUid;
    if (result.kind === "not_routed") {
      failed.push({
        "00081150": ui(facts.sopClassUid),
        "00081155": ui(facts.sopInstanceUid),
        "00081197": us(STATUS.sopClassNotSupported),
      });
      continue;
    }
    const seg = result.seg;
    referenced.push({
      "00081150": ui(SEGMENTATION_STORAGE),
      "00081155": ui(seg.sopInstanceUid),
      "00081190": ur(
        retrieveUrl(base, seg.studyInstanceUid, seg.seriesInstanceUid, seg.sopInstanceUid),
      ),
      "00082112": {
        vr: "SQ",
        Value: [{ "00081150": ui(facts.sopClassUid), "00081155": ui(facts.sopInstanceUid) }],
      },
    });
  }
  const response: Json = {};
  if (study) response["00081190"] = ur(`${base}/dicomweb/studies/${study}`);
  if (failed.length) response["00081198"] = { vr: "SQ", Value: failed };
  if (referenced.length) response["00081199"] = { vr: "SQ", Value: referenced };
  const status = failed.length === 0 ? 200 : referenced.length > 0 ? 202 : 409;
  return { response, status };
}

/** The SOP class/instance of an instance that failed, when its header can be read. */
async function sourceRef(bytes: Uint8Array): Promise<Json> {
  const { readDicomSource } = await import("../../imaging/dicom_source.ts");
  try {
    const s = readDicomSource(bytes, 64 * 1024 * 1024);
    return { "00081150": ui(s.sopClassUid), "00081155": ui(s.sopInstanceUid) };
  } catch {
    return {};
  }
}

async function wado(
  c: Context<AppEnv>,
  node: DicomNode,
  { study, series, instance }: { study: string; series: string; instance: string },
): Promise<Response> {
  const bytes = await node.store.find(instance);
  let matches = false;
  if (bytes) {
    const { readDicomSource } = await import("../../imaging/dicom_source.ts");
    try {
      const s = readDicomSource(bytes, bytes.length * 2);
      matches = s.studyInstanceUid === study && s.seriesInstanceUid === series;
    } catch { /* unreadable: not served */ }
  }
  if (!bytes || !matches) {
    throw new ApiError(
      "not_found",
      `no SEG ${instance} in series ${series} of study ${study} (this node keeps the newest SEGs it made)`,
    );
  }
  const accept = c.req.header("accept") ?? "";
  if (/^application\/dicom\s*(;|$)/i.test(accept.trim())) {
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/dicom" });
  }
  const { body, contentType } = writeMultipart([{ contentType: "application/dicom", bytes }]);
  return c.body(body as Uint8Array<ArrayBuffer>, 200, { "Content-Type": contentType });
}

/** The DICOMweb routes (need the app's DICOM node). */
export function dicomwebRoutes(ctx: AppContext): OpenAPIHono<AppEnv> {
  const app = openApiApp();
  const node = () => {
    if (!ctx.dicomNode) throw new ApiError("not_found", "this server runs no DICOM node");
    return ctx.dicomNode;
  };
  app.openapi(stowRoute, async (c) => {
    const { response, status } = await stow(c, node(), ctx.config.requestTimeoutMs);
    const type = { "Content-Type": "application/dicom+json" }; // c.json keeps a given type
    if (status === 200) return c.json(response, 200, type);
    return status === 202 ? c.json(response, 202, type) : c.json(response, 409, type);
  });
  app.openapi(wadoRoute, (c) => wado(c, node(), c.req.valid("param")));
  return app;
}
