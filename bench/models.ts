/**
 * The two nets the paper compares, as ONNX files: TinyUnet (width 4) and the U-Net-64
 * teacher (64-128-256-512-512), untrained (latency does not depend on weight values).
 *
 * Preferred source: the distillation pipeline's own nets and export (`bench/export_nets.py`
 * runs `tools/distill/nets.py` + `tools/distill/export.py` under PyTorch), cached under
 * `bench/.cache/` (git-ignored) keyed by a hash of those files and the Python version.
 * Fallback when no Python with torch and onnx is found: `lib/onnx_builder.ts` `unetModel`
 * at the same widths (same topology, conv bias instead of folded BatchNorm). The result
 * says which was used.
 *
 * @module
 */
import { findPython } from "../lib/python.ts";
import { existsSync } from "node:fs";
import { inspectModel } from "../src/onnx/inspect.ts";
import { unetModel } from "../lib/onnx_builder.ts";
import { progress } from "./progress.ts";

/** Which net. */
export type NetRole = "student" | "teacher";

/** One net ready to time. */
export interface BenchNet {
  role: NetRole;
  width: number;
  /** file on disk (always written, so other tools can open it) */
  path: string;
  bytes: Uint8Array;
  file_bytes: number;
  /** float parameters stored in the ONNX initializers */
  params_onnx: number;
  /** PyTorch `nets.count_params` (BatchNorm γ/β included), when exported from PyTorch */
  params_torch: number | null;
  /** PyTorch `nets.flops_at` by size, when exported from PyTorch (a cross-check of flops.ts) */
  flops_torch: Record<string, number> | null;
}

/** Both nets and how they were made. */
export interface BenchNets {
  source: "pytorch" | "builder";
  /** how the files were produced, for the report */
  note: string;
  torch_version: string | null;
  onnx_version: string | null;
  cached: boolean;
  student: BenchNet;
  teacher: BenchNet;
}

const WIDTHS: Record<NetRole, number> = { student: 4, teacher: 64 };
const ROOT = new URL("../", import.meta.url);
const HASHED = ["tools/distill/nets.py", "tools/distill/export.py", "bench/export_nets.py"];

/** First Python that can import torch and onnx (lib/python.ts). */
export function findTorchPython(): string | null {
  return findPython(["torch", "onnx"]);
}

async function cacheKey(python: string): Promise<string> {
  const parts: Uint8Array[] = [];
  for (const f of HASHED) parts.push(await Deno.readFile(new URL(f, ROOT)));
  const v = new Deno.Command(python, { args: ["--version"], stdout: "piped", stderr: "piped" })
    .outputSync();
  parts.push(v.stdout, v.stderr);
  const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) all.set(p, (o += p.length) - p.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return [...digest.slice(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function load(
  role: NetRole,
  path: string,
  meta?: { params_torch: number; flops_torch: Record<string, number> },
): Promise<BenchNet> {
  const bytes = await Deno.readFile(path);
  return {
    role,
    width: WIDTHS[role],
    path,
    bytes,
    file_bytes: bytes.length,
    params_onnx: inspectModel(bytes).parameterCount,
    params_torch: meta?.params_torch ?? null,
    flops_torch: meta?.flops_torch ?? null,
  };
}

/** Options of {@link prepareNets}. */
export interface PrepareOptions {
  /** cache folder (default bench/.cache) */
  cacheDir?: string;
  /** skip PyTorch even when it is there */
  builderOnly?: boolean;
}

/** Exports (or reuses) both nets; falls back to the builder without PyTorch. */
export async function prepareNets(options: PrepareOptions = {}): Promise<BenchNets> {
  const cacheDir = options.cacheDir ?? new URL("bench/.cache", ROOT).pathname;
  const python = options.builderOnly ? null : findTorchPython();
  let fallbackWhy = options.builderOnly
    ? "builder chosen (--nets builder)"
    : "no Python with torch and onnx found";
  if (python) {
    const dir = `${cacheDir}/nets-${await cacheKey(python)}`;
    const metaPath = `${dir}/export.json`;
    const cached = existsSync(metaPath);
    try {
      if (!cached) {
        progress(`exporting TinyUnet and the U-Net-64 teacher with PyTorch (${python}) → ${dir}`);
        const out = await new Deno.Command(python, {
          args: [new URL("bench/export_nets.py", ROOT).pathname, dir],
          cwd: ROOT,
          env: { ONNXRUNTIME_NODE_INSTALL: "skip" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout);
        const line = text.split("\n").filter((l) => l.startsWith("{")).pop();
        if (!out.success || !line) {
          throw new Error(
            `export_nets.py failed: ${new TextDecoder().decode(out.stderr).slice(-1500)}`,
          );
        }
        await Deno.writeTextFile(metaPath, line);
      } else {
        progress(`reusing cached PyTorch exports in ${dir}`);
      }
      const meta = JSON.parse(await Deno.readTextFile(metaPath));
      return {
        source: "pytorch",
        note:
          `exported by bench/export_nets.py: tools/distill/nets.py build('student'|'teacher', 3, width) with torch.manual_seed(0) default init, ` +
          `tools/distill/export.py export_onnx (opset 17, eval mode: BatchNorm folded into the convs); cached ${
            dir.replace(ROOT.pathname, "")
          }`,
        torch_version: meta.torch,
        onnx_version: meta.onnx,
        cached,
        student: await load("student", `${dir}/student.onnx`, meta.nets.student),
        teacher: await load("teacher", `${dir}/teacher.onnx`, meta.nets.teacher),
      };
    } catch (err) {
      fallbackWhy = `PyTorch export failed (${(err as Error).message.slice(0, 300)})`;
    }
  }
  progress(`building nets with lib/onnx_builder.ts (${fallbackWhy})`);
  const dir = `${cacheDir}/builder`;
  await Deno.mkdir(dir, { recursive: true });
  const nets = {} as Record<NetRole, BenchNet>;
  for (const role of ["student", "teacher"] as const) {
    const path = `${dir}/${role}.onnx`;
    await Deno.writeFile(path, unetModel({ width: WIDTHS[role], channels: 3, depth: 4, seed: 7 }));
    nets[role] = await load(role, path);
  }
  return {
    source: "builder",
    note:
      `lib/onnx_builder.ts unetModel({width, depth: 4, seed: 7}) — same topology as tools/distill/nets.py (conv bias in place of folded BatchNorm); ${fallbackWhy}`,
    torch_version: null,
    onnx_version: null,
    cached: false,
    ...nets,
  };
}
