/**
 * An engine host on the calling isolate, for the native solo copy: a lone request's run
 * then skips the two Worker hops (the post to the engine host Worker and the answer back,
 * ~0.15 ms each measured through the server at c=1). onnxruntime-node computes on this
 * thread, so the event loop waits for the run (~4 ms for the ISIC student at 256×192 on two
 * threads): `HostedSession` sends a run here only when no other request for that model
 * version and precision is in flight or admitted, and no other run is pending here (another
 * model's solo copy). Native runs do not hang, so there is nothing to restart (the hang
 * watchdog is for the web engines).
 *
 * @module
 */
import { EngineHangError, type EngineName, type Tensor } from "./engine.ts";
import type { LoadMessage } from "./host_worker.ts";
import { loadNativeRunner, type Runner } from "./native_runner.ts";

/** Loads and runs native sessions by id on this isolate (the Worker host's interface). */
export class LocalHost {
  readonly key = "native:local";
  #sessions = new Map<number, Promise<Runner>>();
  restarts = 0;

  #pending = 0;

  /** Runs asked of this host and not yet settled (any session). */
  get pending(): number {
    return this.#pending;
  }

  get sessions(): number {
    return this.#sessions.size;
  }

  async load(reg: { load: LoadMessage }): Promise<{ inputNames: string[]; outputNames: string[] }> {
    if (reg.load.backend !== "native") throw new Error("a local host runs native sessions only");
    const runner = loadNativeRunner(reg.load);
    this.#sessions.set(reg.load.sid, runner);
    const r = await runner;
    return { inputNames: [...r.inputNames], outputNames: [...r.outputNames] };
  }

  async run(
    sid: number,
    feeds: Record<string, Tensor>,
    timeoutMs: number,
    engine: EngineName,
  ): Promise<Record<string, Tensor>> {
    const runner = this.#sessions.get(sid);
    if (!runner) throw new Error(`no session ${sid} in the local host`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new EngineHangError(engine, timeoutMs)), timeoutMs);
    });
    this.#pending++;
    try {
      return (await Promise.race([(await runner).run(feeds), hang])).outputs;
    } finally {
      this.#pending--;
      clearTimeout(timer);
    }
  }

  /** Drops a session. */
  release(sid: number) {
    const runner = this.#sessions.get(sid);
    this.#sessions.delete(sid);
    runner?.then((r) => r.release(), () => {});
  }

  /** Nothing to restart: a run that overran its time is left to finish. */
  restart() {
    this.restarts++;
  }
}
