/**
 * A real Orthanc (Debian `orthanc` + `orthanc-dicomweb`) for tests and the bench: its own temporary
 * configuration and storage, loopback HTTP and DICOM ports, its own process; `stop()` and
 * dispose always end it. `start()` after `stop()` brings it back on the same ports and
 * storage (a PACS that was down for a while).
 *
 * @module
 */
import { join } from "node:path";
import { freePort } from "./free_port.ts";

/**
 * The Orthanc executable: Debian installs it in /usr/sbin, which a user's or a minimal PATH
 * (`PATH=/usr/local/bin:/usr/bin:/bin`) leaves out; else whatever `Orthanc` PATH finds.
 */
export function orthancBinary(): string {
  try {
    Deno.statSync(DEBIAN_ORTHANC);
    return DEBIAN_ORTHANC;
  } catch {
    return "Orthanc";
  }
}
const DEBIAN_ORTHANC = "/usr/sbin/Orthanc";

/** Where Debian puts the DICOMweb plugin. */
const PLUGIN_DIRS = ["/usr/share/orthanc/plugins", "/usr/lib/orthanc"];

function dicomwebPlugin(): string {
  for (const dir of PLUGIN_DIRS) {
    try {
      for (const e of Deno.readDirSync(dir)) {
        if (/^libOrthancDicomWeb\.so/.test(e.name)) return join(dir, e.name);
      }
    } catch { /* not here */ }
  }
  throw new Error("the Orthanc DICOMweb plugin is not installed (Debian package orthanc-dicomweb)");
}

/** A test Orthanc. */
export class Orthanc {
  readonly httpPort = freePort();
  readonly dicomPort = freePort();
  readonly aet = "ORTHANC";
  #child?: Deno.ChildProcess;
  #dir = "";

  /**
   * @param extra configuration entries merged over the defaults (e.g. `DicomModalities`)
   * @param lua a Lua script Orthanc runs (e.g. an `OnStoredInstance` that forwards)
   */
  constructor(readonly extra: Record<string, unknown> = {}, readonly lua?: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  /** Starts (or restarts) it and waits until its REST API answers. */
  async start(): Promise<void> {
    if (!this.#dir) {
      this.#dir = await Deno.makeTempDir({ prefix: "tinyunet-orthanc-" });
      await Deno.writeTextFile(
        join(this.#dir, "orthanc.json"),
        JSON.stringify({
          Name: "TINYUNET-TEST",
          StorageDirectory: join(this.#dir, "db"),
          IndexDirectory: join(this.#dir, "db"),
          HttpPort: this.httpPort,
          DicomPort: this.dicomPort,
          DicomAet: this.aet,
          RemoteAccessAllowed: false,
          AuthenticationEnabled: false,
          DicomCheckCalledAet: true,
          DicomAlwaysAllowStore: true,
          Plugins: [dicomwebPlugin()],
          DicomWeb: { Enable: true, Root: "/dicom-web/" },
          StorageCompression: false,
          SaveJobs: false,
          ConcurrentJobs: 1,
          ...(this.lua ? { LuaScripts: [join(this.#dir, "script.lua")] } : {}),
          ...this.extra,
        }),
      );
      if (this.lua) await Deno.writeTextFile(join(this.#dir, "script.lua"), this.lua);
    }
    this.#child = new Deno.Command(orthancBinary(), {
      args: [join(this.#dir, "orthanc.json")],
      // DCMTK (Orthanc's DICOM layer) leaves Nagle's algorithm on unless told: each
      // response would wait ~40 ms for a delayed ACK (see README "Connect it to your PACS")
      env: { TCP_NODELAY: "1" },
      stdout: "null",
      stderr: "null",
      stdin: "null",
    }).spawn();
    const end = performance.now() + 30_000;
    while (true) {
      try {
        const res = await fetch(`${this.url}/system`);
        await res.body?.cancel();
        if (res.ok) return;
      } catch { /* not listening yet */ }
      if (performance.now() > end) {
        await this.stop();
        throw new Error(`Orthanc did not answer on ${this.url} within 30 s`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops it (SIGTERM, then SIGKILL past 10 s); storage stays. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 10_000);
    await child.status;
    clearTimeout(timer);
  }

  /** GET a REST resource as JSON. */
  async get<T = unknown>(path: string): Promise<T> {
    const res = await fetch(`${this.url}${path}`);
    if (!res.ok) throw new Error(`Orthanc GET ${path}: ${res.status} ${await res.text()}`);
    return await res.json() as T;
  }

  /** GET a REST resource as bytes. */
  async bytes(path: string): Promise<Uint8Array> {
    const res = await fetch(`${this.url}${path}`);
    if (!res.ok) throw new Error(`Orthanc GET ${path}: ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  /** Orthanc ids of the stored instances of a modality. */
  async instancesOf(modality: string): Promise<string[]> {
    const res = await fetch(`${this.url}/tools/find`, {
      method: "POST",
      body: JSON.stringify({ Level: "Instance", Query: { Modality: modality } }),
    });
    if (!res.ok) throw new Error(`Orthanc find: ${res.status}`);
    return await res.json();
  }

  async [Symbol.asyncDispose]() {
    await this.stop();
    if (this.#dir) await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}
