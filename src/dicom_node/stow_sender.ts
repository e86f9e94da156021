/**
 * STOW-RS to `TINYUNET_DICOMWEB_DESTINATION`: one `POST {base}/studies` per batch,
 * `multipart/related; type="application/dicom"`. Credentials in the URL
 * (`https://user:pass@host/dicom-web`) become HTTP Basic authentication. 200: all
 * stored; 202/409 and other 4xx with a PS3.18 JSON body: the Failed SOP Sequence says
 * which were refused (for good, but out of resources, 0xA7xx: tried again, as for
 * C-STORE); 5xx, 401/403/404/408/429 and network errors: the batch is retried.
 *
 * @module
 */
import { writeMultipart } from "./multipart.ts";
import type { OutgoingSeg, SegSender, SendResult } from "./sender.ts";

const FAILED_SOP_SEQUENCE = "00081198";
const REFERENCED_SOP_INSTANCE_UID = "00081155";
const FAILURE_REASON = "00081197";

const RETRY_STATUSES = new Set([401, 403, 404, 408, 425, 429]);

function failedInstances(json: unknown): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const items = (json as Record<string, { Value?: Record<string, { Value?: unknown[] }>[] }>)?.[
    FAILED_SOP_SEQUENCE
  ]?.Value ?? [];
  for (const item of items) {
    const uid = item?.[REFERENCED_SOP_INSTANCE_UID]?.Value?.[0];
    const reason = item?.[FAILURE_REASON]?.Value?.[0];
    if (typeof uid === "string") out.set(uid, reason);
  }
  return out;
}

/** Sends SEGs with STOW-RS. */
export class StowSender implements SegSender {
  readonly name = "dicomweb";
  readonly target: string;
  readonly #url: string;
  readonly #auth?: string;

  constructor(base: URL, readonly timeoutMs = 30_000) {
    const url = new URL(base.href);
    if (url.username || url.password) {
      this.#auth = `Basic ${
        btoa(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`)
      }`;
      url.username = "";
      url.password = "";
    }
    this.#url = `${url.href.replace(/\/+$/, "")}/studies`;
    this.target = this.#url;
  }

  async send(segs: OutgoingSeg[]): Promise<SendResult[]> {
    const { body, contentType } = writeMultipart(
      segs.map((s) => ({ contentType: "application/dicom", bytes: s.bytes })),
    );
    const res = await fetch(this.#url, {
      method: "POST",
      headers: {
        "Content-Type": contentType,
        Accept: "application/dicom+json",
        ...(this.#auth ? { Authorization: this.#auth } : {}),
      },
      body: body as Uint8Array<ArrayBuffer>,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    if (res.status === 200) return segs.map(() => ({ status: "ok" }));
    if (res.status >= 500 || RETRY_STATUSES.has(res.status)) {
      throw new Error(`${this.target} answered ${res.status}: ${text.slice(0, 200)}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch { /* no PS3.18 body */ }
    const failed = failedInstances(json);
    return segs.map((s): SendResult => {
      if (failed.has(s.sopInstanceUid)) {
        const code = failed.get(s.sopInstanceUid);
        const reason = `${this.target}: failure reason ${
          typeof code === "number" ? `0x${code.toString(16).padStart(4, "0")}` : "unknown"
        }`;
        // out of resources (PS3.18 Table 10.5.3-2, as C-STORE's A7xx): the PACS may take it later
        if (typeof code === "number" && (code & 0xff00) === 0xa700) {
          return { status: "retry", reason };
        }
        return { status: "rejected", reason };
      }
      if (res.status === 202) return { status: "ok" };
      return { status: "rejected", reason: `${this.target} answered ${res.status}` };
    });
  }
}
