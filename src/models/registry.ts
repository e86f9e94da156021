/**
 * The set of served models: every version found in the repository, loaded and warmed,
 * looked up by name (latest version) or name + version. Swapping in a reloaded version
 * is one map assignment, so requests see either the old or the new version, never none.
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import { type LoadOptions, ModelVersion } from "./model_version.ts";
import { compareVersions, type ModelEntry, scanRepository } from "./repository.ts";

/** Lifecycle of the registry. */
export type RegistryState = "loading" | "ready" | "failed";

/** Loaded models by name and version. */
export class ModelRegistry {
  readonly #models = new Map<string, Map<string, ModelVersion>>();
  #state: RegistryState = "loading";
  #error?: Error;
  defaultModel?: string;

  constructor(readonly root: string, readonly options: LoadOptions) {}

  /** "ready" once every model is loaded and warmed. */
  get state(): RegistryState {
    return this.#state;
  }
  get error(): Error | undefined {
    return this.#error;
  }

  /**
   * Scans the repository and loads every version (one at a time: warm-ups are CPU-bound).
   * @param onLoaded called after each version loads (for the start-up log)
   */
  async loadAll(defaultModel?: string, onLoaded?: (mv: ModelVersion) => void): Promise<void> {
    try {
      const entries = await scanRepository(this.root);
      if (entries.length === 0) throw new Error(`no models found under ${this.root}`);
      for (const entry of entries) onLoaded?.(await this.add(entry));
      if (defaultModel && !this.#models.has(defaultModel)) {
        throw new Error(`default model "${defaultModel}" is not in ${this.root} (has ${this.names().join(", ")})`);
      }
      this.defaultModel = defaultModel ?? this.names()[0];
      this.#state = "ready";
    } catch (err) {
      this.#state = "failed";
      this.#error = err as Error;
      throw err;
    }
  }

  /** Loads one version and makes it visible (replacing a loaded one of the same version). */
  async add(entry: ModelEntry): Promise<ModelVersion> {
    const mv = await ModelVersion.load(entry, this.options);
    const versions = this.#models.get(entry.name) ?? new Map<string, ModelVersion>();
    const previous = versions.get(entry.version);
    versions.set(entry.version, mv);
    this.#models.set(entry.name, versions);
    if (previous) void previous.unload();
    return mv;
  }

  /** Removes a version (or all versions) of a model, releasing its sessions after in-flight runs. */
  async remove(name: string, version?: string): Promise<void> {
    const versions = this.#models.get(name);
    if (!versions) return;
    const gone = version ? [versions.get(version)].filter((v) => v !== undefined) : [...versions.values()];
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
    return versions ? [...versions.values()].sort((a, b) => compareVersions(a.version, b.version)) : [];
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
    if (!modelName) throw new ApiError("model_not_ready", "no model is loaded yet", { "Retry-After": "1" });
    const versions = this.#models.get(modelName);
    if (!versions && this.#state === "loading") {
      throw new ApiError("model_not_ready", `model "${truncate(modelName)}" is not loaded yet`, { "Retry-After": "1" });
    }
    if (!versions) {
      throw new ApiError("model_not_found", `unknown model "${truncate(modelName)}"; available: ${this.names().join(", ") || "none"}`);
    }
    if (version !== undefined) {
      const mv = versions.get(version);
      if (!mv) {
        throw new ApiError("model_not_found", `model "${modelName}" has no version "${truncate(version)}"; available: ${[...versions.keys()].join(", ")}`);
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

function truncate(s: string, n = 80): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
