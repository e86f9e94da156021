/**
 * The set of served models: every version found in the repository, loaded and warmed,
 * looked up by name (latest version) or name + version. Swapping in a reloaded version
 * is one map assignment, so requests see either the old or the new version, never none.
 *
 * One bad model never takes the others down: at start-up each version loads on its own,
 * and one that fails is listed in {@link ModelRegistry.index} as `UNAVAILABLE` with the
 * reason (requests for it get 503 `model_not_ready` saying why) while the rest serve.
 *
 * Hot reload: {@link ModelRegistry.sync} rescans the repository (or one model) and loads
 * what is new or changed beside what serves, swapping it in only once warm; a load that
 * fails leaves the old version serving and is reported in {@link ModelRegistry.index}.
 * Loads, syncs and unloads run one at a time.
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import {
  type InferenceObserver,
  type LoadOptions,
  ModelVersion,
  warmupDims,
} from "./model_version.ts";
import {
  compareVersions,
  type ModelEntry,
  readEntry,
  readRepositorySettings,
} from "./repository.ts";
import { listVersionDirs, SAFE_NAME } from "./repository_scan.ts";

/** Lifecycle of the registry (`draining` while the server shuts down). */
export const REGISTRY_STATES = ["loading", "ready", "failed", "draining"] as const;
/** What the registry is doing as a whole (readiness reports it). */
export type RegistryState = typeof REGISTRY_STATES[number];

/** A version's state in the repository index (KServe / Triton model-repository names). */
export type VersionState = "READY" | "LOADING" | "UNAVAILABLE";

/** One row of the repository index. */
export interface IndexEntry {
  name: string;
  version: string;
  state: VersionState;
  /** why it is not ready, or why its last reload failed ("" when all is well) */
  reason: string;
}

/** What one sync did to one version. */
export interface SyncResult extends IndexEntry {
  action: "loaded" | "unchanged" | "failed" | "removed";
}

/** Thrown by {@link ModelRegistry.loadModel} when a version could not be loaded. */
export class ModelLoadError extends ApiError {
  declare readonly code: "model_load_failed";
  constructor(readonly results: SyncResult[]) {
    const failed = results.filter((r) => r.action === "failed");
    super("model_load_failed", failed.map((r) => `${r.name}/${r.version}: ${r.reason}`).join("; "));
    this.name = "ModelLoadError";
  }
}

interface IndexRecord extends IndexEntry {
  fingerprint?: string;
  /** its last load failed (a version serving older files after a failed reload included) */
  failed?: boolean;
}

/** When `/v2/health/ready` says ready (`TINYUNET_READY`). */
export type ReadinessMode = "all" | "default-model";
/** The readiness answer. */
export interface Readiness {
  ready: boolean;
  state: RegistryState;
  mode: ReadinessMode;
  /** versions whose last load failed, with the reason */
  failed: IndexEntry[];
}

/** Loaded models by name and version. */
export class ModelRegistry {
  readonly #models = new Map<string, Map<string, ModelVersion>>();
  readonly #index = new Map<string, IndexRecord>();
  readonly #observers = new Set<InferenceObserver>();
  #state: RegistryState = "loading";
  #error?: Error;
  #lock: Promise<unknown> = Promise.resolve();
  defaultModel?: string;
  readonly options: LoadOptions;

  constructor(readonly root: string, options: LoadOptions) {
    const outer = options.observer;
    this.options = {
      ...options,
      observer: (event) => {
        outer?.(event);
        for (const fn of this.#observers) fn(event);
      },
    };
  }

  /**
   * Subscribes to every run of every version (metrics, logs).
   * @returns a function that unsubscribes
   */
  observe(fn: InferenceObserver): () => void {
    this.#observers.add(fn);
    return () => this.#observers.delete(fn);
  }

  /** Marks the registry as shutting down (readiness turns 503). */
  markDraining(): void {
    this.#state = "draining";
  }

  /** Runs `fn` after every earlier load/sync/unload has finished. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  /** "ready" once every model is loaded and warmed. */
  get state(): RegistryState {
    return this.#state;
  }
  get error(): Error | undefined {
    return this.#error;
  }

  /**
   * Scans the repository and loads every version (one at a time: warm-ups are CPU-bound).
   * A version that fails to load (bad card, corrupt or missing file, engine error) is
   * listed in {@link index} as `UNAVAILABLE` with the reason, and the rest serve; only a
   * repository where nothing loads fails.
   * @param defaultModel the model behind `/v1/segment`; else the repository's
   *   `repository.json` `default_model`; else the first by name
   * @param onLoaded called after each version loads (for the start-up log)
   * @param onFailed called for each version that failed to load
   * @throws {Error} when no version loads (every reason listed), or the default model is
   *   not in the repository at all
   */
  loadAll(
    defaultModel?: string,
    onLoaded?: (mv: ModelVersion) => void,
    onFailed?: (failure: IndexEntry) => void,
  ): Promise<void> {
    return this.#exclusive(() => this.#loadAll(defaultModel, onLoaded, onFailed));
  }

  async #loadAll(
    defaultModel?: string,
    onLoaded?: (mv: ModelVersion) => void,
    onFailed?: (failure: IndexEntry) => void,
  ): Promise<void> {
    try {
      const dirs = await listVersionDirs(this.root);
      if (dirs.length === 0) throw new Error(`no models found under ${this.root}`);
      // every card first, then the largest warm-up first (a fixed-size card's; native warms the
      // others at one small size): without onnxruntime's arena (web engines, or
      // TINYUNET_NATIVE_ARENA=0) the activations it frees serve the smaller ones' first runs
      // instead of fresh pages (each ~15 µs to fault in on a VM)
      const read = await Promise.all(
        dirs.map(async (d) => ({
          d,
          entry: await readEntry(this.root, d.name, d.version).catch((err: Error) => err),
        })),
      );
      const size = (e: ModelEntry | Error) =>
        e instanceof Error ? 0 : warmupDims(e.card, false).reduce((a, b) => a * b, 1);
      read.sort((a, b) => size(b.entry) - size(a.entry));
      for (const { d, entry } of read) {
        const key = `${d.name}/${d.version}`;
        const record = { name: d.name, version: d.version, fingerprint: d.fingerprint };
        try {
          if (entry instanceof Error) throw entry;
          const mv = await this.add(entry); // not inside `onLoaded?.(…)`: that skips its argument when there is no callback
          onLoaded?.(mv);
          this.#index.set(key, { ...record, state: "READY", reason: "" });
        } catch (err) {
          const failure: IndexRecord = {
            ...record,
            state: "UNAVAILABLE",
            reason: (err as Error).message,
            failed: true,
          };
          this.#index.set(key, failure);
          onFailed?.(publicEntry(failure));
        }
      }
      if (this.#models.size === 0) {
        throw new Error(
          `no model in ${this.root} could be loaded: ${
            this.index().map((e) => `${e.name}/${e.version}: ${e.reason}`).join("; ")
          }`,
        );
      }
      defaultModel ??= (await readRepositorySettings(this.root)).defaultModel;
      if (defaultModel && ![...this.#index.values()].some((r) => r.name === defaultModel)) {
        throw new Error(
          `default model "${defaultModel}" is not in ${this.root} (has ${this.names().join(", ")})`,
        );
      }
      this.defaultModel = defaultModel ?? this.names()[0];
      if (this.#state === "loading") this.#state = "ready";
    } catch (err) {
      this.#state = "failed";
      this.#error = err as Error;
      throw err;
    }
  }

  /**
   * Readiness: `all` (Triton's strict readiness, the default) is ready when loading has
   * finished and no version listed in the repository failed to load; `default-model` is
   * ready once the default model serves, whatever else failed.
   */
  readiness(mode: ReadinessMode = "all"): Readiness {
    const failed = this.failures().filter((e) => e.state !== "READY");
    const serving = this.#state === "ready" &&
      (mode === "all" ? failed.length === 0 : this.has(this.defaultModel ?? ""));
    return { ready: serving, state: this.#state, mode, failed };
  }

  /** Loads one version and makes it visible (replacing a loaded one of the same version). */
  async add(entry: ModelEntry): Promise<ModelVersion> {
    const mv = await ModelVersion.load(entry, this.options);
    const versions = this.#models.get(entry.name) ?? new Map<string, ModelVersion>();
    const previous = versions.get(entry.version);
    versions.set(entry.version, mv);
    this.#models.set(entry.name, versions);
    if (previous) void previous.unload(mv);
    return mv;
  }

  /**
   * Versions whose last load failed, sorted: not serving (`UNAVAILABLE`), or still serving
   * their previous files after a failed reload (`READY`, the reason says so).
   */
  failures(): IndexEntry[] {
    return [...this.#index.values()].filter((r) => r.failed).map(publicEntry)
      .sort((a, b) => a.name.localeCompare(b.name) || compareVersions(a.version, b.version));
  }

  /** The repository index: every version seen, loaded or not, sorted. */
  index(): IndexEntry[] {
    return [...this.#index.values()]
      .map(({ name, version, state, reason }) => ({ name, version, state, reason }))
      .sort((a, b) => a.name.localeCompare(b.name) || compareVersions(a.version, b.version));
  }

  /**
   * Rescans the repository (or one model's folder) and brings serving in line with it:
   * new or changed versions are loaded and warmed, then swapped in; versions whose folder
   * is gone are unloaded. Unchanged files are not reloaded, so a broken version is not
   * retried until it changes, and an unloaded model stays unloaded until it changes.
   * @param name only this model
   * @param explicit also load versions that are not serving though unchanged (an
   *   explicit load request)
   */
  sync(name?: string, explicit = false): Promise<SyncResult[]> {
    return this.#exclusive(() => this.#sync(name, explicit));
  }

  async #sync(name: string | undefined, explicit: boolean): Promise<SyncResult[]> {
    const dirs = await listVersionDirs(this.root, name);
    const results: SyncResult[] = [];
    const seen = new Set<string>();
    for (const d of dirs) {
      const key = `${d.name}/${d.version}`;
      seen.add(key);
      const known = this.#index.get(key);
      const serving = this.has(d.name, d.version);
      // unchanged files are skipped, except on an explicit load after a failed reload:
      // that retries (and answers 422 again) rather than report "unchanged"
      const failedBefore = explicit && known !== undefined && known.reason !== "";
      if (known?.fingerprint === d.fingerprint && (serving || !explicit) && !failedBefore) {
        results.push({ ...publicEntry(known), action: "unchanged" });
        continue;
      }
      this.#index.set(key, {
        name: d.name,
        version: d.version,
        state: "LOADING",
        reason: "",
        fingerprint: known?.fingerprint,
      });
      try {
        await this.add(await readEntry(this.root, d.name, d.version));
        this.#index.set(key, {
          name: d.name,
          version: d.version,
          state: "READY",
          reason: "",
          fingerprint: d.fingerprint,
        });
        results.push({
          name: d.name,
          version: d.version,
          state: "READY",
          reason: "",
          action: "loaded",
        });
      } catch (err) {
        const message = (err as Error).message;
        const reason = serving
          ? `reload failed, still serving the previous files: ${message}`
          : message;
        const state = serving ? "READY" : "UNAVAILABLE";
        this.#index.set(key, {
          name: d.name,
          version: d.version,
          state,
          reason,
          fingerprint: d.fingerprint,
          failed: true,
        });
        results.push({ name: d.name, version: d.version, state, reason, action: "failed" });
      }
    }
    for (const [key, record] of this.#index) {
      if (seen.has(key) || (name !== undefined && record.name !== name)) continue;
      this.#index.delete(key);
      if (this.has(record.name, record.version)) await this.remove(record.name, record.version);
      results.push({
        name: record.name,
        version: record.version,
        state: "UNAVAILABLE",
        reason: "folder removed",
        action: "removed",
      });
    }
    return results;
  }

  /**
   * Loads (or reloads) every version of one model from the repository, as the
   * model-repository extension's `load` asks.
   * @throws {ApiError} `bad_request` for an unsafe name, `model_not_found` when the
   *   repository has no version of it
   * @throws {ModelLoadError} (422) when a version failed to load; what served before
   *   still serves
   */
  async loadModel(name: string): Promise<SyncResult[]> {
    checkName(name);
    const results = await this.sync(name, true);
    const present = results.filter((r) => r.action !== "removed");
    if (present.length === 0) {
      throw new ApiError("model_not_found", `the repository has no version of model "${name}"`);
    }
    if (present.some((r) => r.action === "failed")) throw new ModelLoadError(results);
    return results;
  }

  /**
   * Stops serving every version of a model (in-flight runs finish first). Its files stay;
   * it is loaded again by {@link loadModel} or when its files change.
   * @throws {ApiError} `model_not_found` when it is not loaded
   */
  unloadModel(name: string): Promise<IndexEntry[]> {
    checkName(name);
    return this.#exclusive(async () => {
      if (!this.#models.has(name)) {
        throw new ApiError("model_not_found", `model "${name}" is not loaded`);
      }
      await this.remove(name);
      const out: IndexEntry[] = [];
      for (const record of this.#index.values()) {
        if (record.name !== name) continue;
        record.state = "UNAVAILABLE";
        record.reason = "unloaded";
        out.push(publicEntry(record));
      }
      return out;
    });
  }

  /** Removes a version (or all versions) of a model, releasing its sessions after in-flight runs. */
  async remove(name: string, version?: string): Promise<void> {
    const versions = this.#models.get(name);
    if (!versions) return;
    const gone = version
      ? [versions.get(version)].filter((v) => v !== undefined)
      : [...versions.values()];
    if (version) versions.delete(version);
    if (!version || versions.size === 0) this.#models.delete(name);
    await Promise.all(gone.map((mv) => mv.unload()));
  }

  /** Model names, sorted. */
  names(): string[] {
    return [...this.#models.keys()].sort();
  }

  /** Versions of a model, oldest first. */
  versions(name: string): ModelVersion[] {
    const versions = this.#models.get(name);
    return versions
      ? [...versions.values()].sort((a, b) => compareVersions(a.version, b.version))
      : [];
  }

  /** Every loaded version. */
  all(): ModelVersion[] {
    return this.names().flatMap((n) => this.versions(n));
  }

  /** Whether a model (and version) is loaded. */
  has(name: string, version?: string): boolean {
    const versions = this.#models.get(name);
    return Boolean(versions && (version === undefined || versions.has(version)));
  }

  /**
   * Looks up a model version; the latest when no version is given.
   * @throws {ApiError} `model_not_found` (404)
   */
  get(name: string | undefined, version?: string): ModelVersion {
    const modelName = name ?? this.defaultModel;
    if (!modelName) {
      throw new ApiError("model_not_ready", "no model is loaded yet", { "Retry-After": "1" });
    }
    const versions = this.#models.get(modelName);
    if (!versions && this.#state === "loading") {
      throw new ApiError("model_not_ready", `model "${truncate(modelName)}" is not loaded yet`, {
        "Retry-After": "1",
      });
    }
    const failures = [...this.#index.values()].filter((r) => r.name === modelName && r.failed);
    if (!versions && failures.length > 0) {
      throw new ApiError(
        "model_not_ready",
        `model "${modelName}" failed to load: ${
          failures.map((r) => `${r.version}: ${r.reason}`).join("; ")
        }`,
      );
    }
    if (!versions) {
      throw new ApiError(
        "model_not_found",
        `unknown model "${truncate(modelName)}"; available: ${this.names().join(", ") || "none"}`,
      );
    }
    if (version !== undefined) {
      const mv = versions.get(version);
      if (!mv) {
        throw new ApiError(
          "model_not_found",
          `model "${modelName}" has no version "${truncate(version)}"; available: ${
            [...versions.keys()].join(", ")
          }`,
        );
      }
      return mv;
    }
    return this.versions(modelName).at(-1)!;
  }

  /** Unloads everything. */
  async close(): Promise<void> {
    for (const name of this.names()) await this.remove(name);
  }
}

function publicEntry({ name, version, state, reason }: IndexRecord): IndexEntry {
  return { name, version, state, reason };
}

function checkName(name: string) {
  if (!SAFE_NAME.test(name) || name.length > 128) {
    throw new ApiError(
      "bad_request",
      `"${truncate(name, 40)}" is not a model name (letters, digits, . _ - only)`,
    );
  }
}

function truncate(s: string, n = 80): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
