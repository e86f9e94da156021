/**
 * `deno task setup`: the operating-system packages the project needs besides Deno — Python
 * with PyTorch (the distillation pipeline and its tests), Chromium (the browser test and
 * `tools/screenshot.ts`), systemd (`systemd-analyze verify` of the shipped unit), the DICOM
 * tools the DICOM tests make compressed fixtures with and check SEGs with (dcmtk, OpenJPEG,
 * dicom3tools, pydicom), Orthanc with its DICOMweb plugin (the DICOM node's PACS), wrk and
 * prlimit (the overload, SIGTERM and connection tests; wrk also drives `deno task bench`),
 * FastAPI with uvicorn (the bench's Python peer server, bench/peer/), a C compiler (the direct
 * engine's kernels, which setup then builds: `deno task build:kernels`), and qemu-user with the
 * arm64 C/C++ runtimes (the linux-arm64 test). On a Debian machine where we are root, missing
 * packages are installed with apt-get (set `TINYUNET_NO_APT=1` to forbid); otherwise the
 * exact command to run is printed and the task fails. `deno task test` runs it first, so the README's two commands work on a fresh
 * machine; `.ci/run` runs it before the check.
 *
 * @module
 */
import { orthancBinary } from "../lib/orthanc.ts";
import { buildKernels } from "../src/engines/direct/kernels.ts";

/** Debian packages for the Python distillation pipeline and its tests. */
export const PYTHON_PACKAGES = [
  "python3-torch",
  "python3-onnx",
  "python3-pytest",
  "python3-pil",
  "python3-scipy",
  "python3-numpy",
];
/** Chromium for the browser test (driven by playwright-core; no browser download). */
export const BROWSER_PACKAGES = ["chromium"];
/** `systemd-analyze verify` checks the shipped systemd unit. */
export const SYSTEMD_PACKAGES = ["systemd"];
/**
 * DICOM fixtures and checks: dcmtk (`dcmcjpeg`, `dcmcjpls`, `dcmcrle`, `dcmdump`),
 * OpenJPEG (`opj_compress`), dicom3tools (`dciodvfy`), pydicom.
 */
export const DICOM_PACKAGES = ["dcmtk", "libopenjp2-tools", "dicom3tools", "python3-pydicom"];
/** The DICOM node's e2e tests and bench part: a real Orthanc PACS (with DICOMweb); dcmtk (`echoscu`, `storescu`) as the modality. */
export const DICOM_NODE_PACKAGES = ["dcmtk", "orthanc", "orthanc-dicomweb"];
/** The overload and SIGTERM tests drive the server with wrk (`wrk --version` exits 1). */
export const WRK_PACKAGES = ["wrk"];
/** The connection test lowers the server's open-files limit with prlimit. */
export const PRLIMIT_PACKAGES = ["util-linux"];
/** The direct engine's kernels are C, built on the machine (`src/engines/direct/kernels.ts`). */
export const C_COMPILER_PACKAGES = ["gcc", "libc6-dev"];
/** The FastAPI + PyTorch peer server `deno task bench` compares against (bench/versus.ts). */
export const BENCH_PEER_PACKAGES = ["python3-fastapi", "python3-uvicorn"];

function hasOrthancDicomweb(): boolean {
  try {
    return [...Deno.readDirSync("/usr/share/orthanc/plugins")].some((e) =>
      e.name.startsWith("libOrthancDicomWeb.so")
    );
  } catch {
    return false;
  }
}

/** The linux-arm64 test (tests/e2e/arm64_test.ts) runs Deno's arm64 build under qemu-user. */
export const ARM64_PACKAGES = [
  "qemu-user-static",
  "libc6-arm64-cross",
  "libstdc++6-arm64-cross",
  "libgcc-s1-arm64-cross",
];
/** The command prefix that runs an arm64 Linux program on this (x86) machine. */
export const ARM64_EMULATOR = ["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu"];

/** Which of the arm64 emulation files are missing (empty when ready). */
export function arm64EmulationMissing(): string[] {
  const files: Record<string, string> = {
    "qemu-user-static": "/usr/bin/qemu-aarch64-static",
    "libc6-arm64-cross": "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1",
    "libstdc++6-arm64-cross": "/usr/aarch64-linux-gnu/lib/libstdc++.so.6",
    "libgcc-s1-arm64-cross": "/usr/aarch64-linux-gnu/lib/libgcc_s.so.1",
  };
  return Object.entries(files).filter(([, path]) => {
    try {
      Deno.statSync(path);
      return false;
    } catch {
      return true;
    }
  }).map(([pkg]) => pkg);
}

function ok(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

/** Packages missing on this machine. */
export function missingPackages(): string[] {
  const missing: string[] = [];
  if (!ok("/usr/bin/python3", ["-c", "import torch, onnx, pytest, PIL, scipy, numpy"])) {
    missing.push(...PYTHON_PACKAGES);
  }
  if (!ok("/usr/bin/chromium", ["--version"])) missing.push(...BROWSER_PACKAGES);
  if (!ok("systemd-analyze", ["--version"])) missing.push(...SYSTEMD_PACKAGES);
  const dicomTools =
    ok("sh", ["-c", "command -v dcmcjpls && command -v opj_compress && command -v dciodvfy"]) &&
    ok("/usr/bin/python3", ["-c", "import pydicom"]);
  if (!dicomTools) missing.push(...DICOM_PACKAGES);
  if (
    !ok("storescu", ["--version"]) || !ok(orthancBinary(), ["--version"]) || !hasOrthancDicomweb()
  ) {
    missing.push(...DICOM_NODE_PACKAGES.filter((p) => !missing.includes(p)));
  }
  if (!ok("sh", ["-c", "command -v wrk"])) missing.push(...WRK_PACKAGES);
  if (!ok("prlimit", ["--version"])) missing.push(...PRLIMIT_PACKAGES);
  if (!ok("/usr/bin/python3", ["-c", "import fastapi, uvicorn"])) {
    missing.push(...BENCH_PEER_PACKAGES);
  }
  if (!ok(Deno.env.get("CC")?.trim() || "cc", ["--version"])) missing.push(...C_COMPILER_PACKAGES);
  missing.push(...arm64EmulationMissing());
  return missing;
}

/** Installs missing packages where allowed; returns what is still missing. */
export function ensureSystemPackages(): string[] {
  const missing = missingPackages();
  if (missing.length === 0) return [];
  const cmd = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  const root = Deno.uid?.() === 0;
  if (!root || Deno.env.get("TINYUNET_NO_APT") || !ok("apt-get", ["--version"])) {
    console.error(
      `missing system packages: ${missing.join(" ")}\ninstall them with: sudo sh -c '${cmd}'`,
    );
    return missing;
  }
  console.log(`installing missing system packages: ${missing.join(" ")}`);
  new Deno.Command("sh", {
    args: ["-c", `${cmd} >/tmp/tinyunet-apt.log 2>&1`],
    stdout: "inherit",
    stderr: "inherit",
  }).outputSync();
  return missingPackages();
}

if (import.meta.main) {
  const still = ensureSystemPackages();
  if (still.length) {
    console.error(`setup: still missing: ${still.join(" ")}`);
    Deno.exit(1);
  }
  console.log("setup: system packages present");
  const kernels = await buildKernels();
  if ("reason" in kernels) {
    console.error(`setup: the direct engine's kernels: ${kernels.reason}`);
    Deno.exit(1);
  }
  console.log(`setup: direct kernels ${kernels.built ? "built" : "present"} (${kernels.path})`);
}
