/**
 * Settings of the DICOM node (DIMSE listener, routing, destinations, outbox), read from
 * the environment next to the server's own (src/config.ts calls {@link loadDicomNodeConfig}).
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `TINYUNET_DIMSE_PORT` | off | DICOM port of the C-ECHO/C-STORE listener |
 * | `TINYUNET_DIMSE_AET` | TINYUNET | this node's AE title (the called AE title it answers to) |
 * | `TINYUNET_DIMSE_CALLING_AETS` | any | comma list of calling AE titles allowed to associate |
 * | `TINYUNET_DIMSE_ROUTES` | from the cards | `MODALITY=model` pairs, e.g. `US=hc18,ES=kvasir-seg` |
 * | `TINYUNET_DIMSE_DESTINATION` | none | `AET@host:port`: SEGs are sent there with C-STORE |
 * | `TINYUNET_DICOMWEB_DESTINATION` | none | STOW-RS base URL (e.g. `http://pacs:8042/dicom-web`) |
 * | `TINYUNET_OUTBOX` | `.data/outbox` (`$STATE_DIRECTORY/outbox` under systemd) | SEG store and outbox folder |
 * | `TINYUNET_OUTBOX_MAX` | 10000 | SEGs waiting per destination before the oldest is dropped |
 * | `TINYUNET_SEG_RETENTION` | 1000 | SEGs kept for WADO-RS retrieval (newest) |
 * | `TINYUNET_OUTBOX_RETRY_MAX_MS` | 30000 | longest wait between delivery attempts |
 *
 * @module
 */
import { join } from "node:path";

/** A C-STORE destination. */
export interface DimseDestination {
  aet: string;
  host: string;
  port: number;
}

/** Validated DICOM node settings. */
export interface DicomNodeConfig {
  /** DIMSE listener port; undefined = no listener */
  dimsePort?: number;
  aet: string;
  /** allowed calling AE titles; empty = any */
  callingAets: string[];
  /** modality → model name overrides */
  routes: Record<string, string>;
  dimseDestination?: DimseDestination;
  dicomwebDestination?: URL;
  outboxDir: string;
  outboxMax: number;
  segRetention: number;
  retryMaxMs: number;
}

/** AE titles: 1-16 characters of the default character repertoire, no backslash. */
const AET = /^[\x20-\x5b\x5d-\x7e]{1,16}$/;

function aet(raw: string, key: string): string {
  const v = raw.trim();
  if (!AET.test(v)) throw new Error(`${key}: "${raw}" is not an AE title (1-16 printable ASCII)`);
  return v;
}

function count(
  env: Record<string, string | undefined>,
  key: string,
  fallback: number,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
) {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback;
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new Error(`${key}=${raw} is not an integer from ${min} to ${max}`);
  }
  return v;
}

/** Parses `AET@host:port`. */
export function parseDimseDestination(raw: string, key = "TINYUNET_DIMSE_DESTINATION") {
  const m = /^([^@]+)@(\[[^\]]+\]|[^:@]+):(\d{1,5})$/.exec(raw.trim());
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) {
    throw new Error(`${key}=${raw}: expected AET@host:port, e.g. ORTHANC@pacs.local:4242`);
  }
  return { aet: aet(m[1], key), host: m[2].replace(/^\[|\]$/g, ""), port };
}

/** Parses `US=hc18,ES=kvasir-seg` (modality codes upper-cased). */
export function parseRoutes(raw: string | undefined): Record<string, string> {
  const routes: Record<string, string> = {};
  for (const pair of (raw ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9_]{1,16})\s*=\s*([a-z0-9][a-z0-9._-]*)$/i.exec(pair);
    if (!m) {
      throw new Error(`TINYUNET_DIMSE_ROUTES: "${pair}" is not MODALITY=model (e.g. US=hc18)`);
    }
    routes[m[1].toUpperCase()] = m[2];
  }
  return routes;
}

/**
 * Reads the DICOM node settings.
 * @throws {Error} naming the variable when a value is invalid
 */
export function loadDicomNodeConfig(env: Record<string, string | undefined>): DicomNodeConfig {
  const port = env.TINYUNET_DIMSE_PORT;
  let dicomweb: URL | undefined;
  if (env.TINYUNET_DICOMWEB_DESTINATION) {
    try {
      dicomweb = new URL(env.TINYUNET_DICOMWEB_DESTINATION.replace(/\/+$/, ""));
    } catch {
      throw new Error(
        `TINYUNET_DICOMWEB_DESTINATION=${env.TINYUNET_DICOMWEB_DESTINATION}: not a URL`,
      );
    }
    if (dicomweb.protocol !== "http:" && dicomweb.protocol !== "https:") {
      throw new Error("TINYUNET_DICOMWEB_DESTINATION: only http: and https: URLs");
    }
  }
  const state = env.STATE_DIRECTORY?.split(":")[0];
  return {
    dimsePort: port === undefined || port === ""
      ? undefined
      : count(env, "TINYUNET_DIMSE_PORT", 0, 0, 65535),
    aet: aet(env.TINYUNET_DIMSE_AET || "TINYUNET", "TINYUNET_DIMSE_AET"),
    callingAets: (env.TINYUNET_DIMSE_CALLING_AETS ?? "").split(",").map((s) => s.trim())
      .filter(Boolean).map((s) => aet(s, "TINYUNET_DIMSE_CALLING_AETS")),
    routes: parseRoutes(env.TINYUNET_DIMSE_ROUTES),
    dimseDestination: env.TINYUNET_DIMSE_DESTINATION
      ? parseDimseDestination(env.TINYUNET_DIMSE_DESTINATION)
      : undefined,
    dicomwebDestination: dicomweb,
    outboxDir: env.TINYUNET_OUTBOX || (state ? join(state, "outbox") : join(".data", "outbox")),
    outboxMax: count(env, "TINYUNET_OUTBOX_MAX", 10_000),
    segRetention: count(env, "TINYUNET_SEG_RETENTION", 1000, 0),
    retryMaxMs: count(env, "TINYUNET_OUTBOX_RETRY_MAX_MS", 30_000, 10),
  };
}
