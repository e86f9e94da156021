/**
 * One `--quick` run of every part of the benchmark (as `deno task bench -- --quick` does,
 * into a temporary folder) whose results are checked for structure and sanity. The full
 * benchmark is never part of the suite.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { BenchResults } from "../../bench/results.ts";
import { SPARSE_CONFIGS, SPARSE_MODELS } from "../../bench/sparse.ts";

Deno.test({
  name: "bench --quick: every part runs and its results are sane",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "tinyunet-bench-test-" });
    try {
      const child = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          new URL("../../bench/main.ts", import.meta.url).pathname,
          "--quick",
          "--out",
          out,
        ],
        env: { ONNXRUNTIME_NODE_INSTALL: "skip" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const log = new TextDecoder().decode(child.stderr);
      const r: BenchResults = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
      assert.deepEqual(r.errors, [], log.slice(-3000));
      assert.equal(child.code, 0, log.slice(-3000));
      assert.equal(r.mode, "quick");
      assert.match(log, /\[bench .*\] latency|native-1t: student/);

      // nets and the paper's parameter claim
      assert.ok(r.nets.teacher.params_onnx > 100 * r.nets.student.params_onnx);
      assert.ok(r.nets.param_reduction_percent > 99);
      const size = r.latency!.sizes[0];
      assert.ok(r.nets.teacher.flops[size].flops > 100 * r.nets.student.flops[size].flops);
      if (r.nets.source === "pytorch") {
        assert.equal(
          r.nets.student.flops_torch![size] ?? r.nets.student.flops[size].flops,
          r.nets.student.flops[size].flops,
        );
      }

      // latency: every available engine timed both nets, positive medians, p90 ≥ median
      const timed = r.latency!.rows.filter((x) => x.timing);
      assert.ok(timed.some((x) => x.config === "native-1t" && x.net === "student"));
      assert.ok(timed.some((x) => x.config === "wasm-1t" && x.net === "teacher"));
      for (const x of timed) {
        assert.ok(
          x.timing!.summary.median_ms > 0 &&
            x.timing!.summary.p90_ms >= x.timing!.summary.median_ms,
          `${x.config} ${x.net}`,
        );
        assert.ok(x.gflops_per_s! > 0);
      }
      for (const x of r.latency!.rows.filter((x) => !x.timing)) {
        assert.ok(x.skipped || x.error, `${x.config} ${x.net}: neither timed nor explained`);
      }
      assert.ok(r.latency!.ratios.find((x) => x.config === "native-1t")!.teacher_over_student > 1);

      // peak: kernels on native; the probe ran or said why not
      assert.ok(
        r.peak!.kernels.some((k) =>
          k.config === "native-1t" && k.kernel === "gemm" && k.gflops_per_s! > 0
        ),
      );
      assert.ok(
        r.peak!.probe.available
          ? r.peak!.probe.fma!["1"].gflops_per_cpu_second > 0
          : r.peak!.probe.reason.length > 0,
      );

      // quant: rows for shipped int8 models, or an explanation
      assert.ok(r.quant!.rows.length > 0 || r.quant!.note.length > 0);

      // HTTP: the real server answered at concurrency 1 without errors
      const c1 = r.http!.levels.find((l) => l.connections === 1)!;
      assert.ok(c1.ok_2xx > 0 && c1.latency_ms.p50 > 0);
      assert.equal(c1.errors, 0);
      assert.deepEqual(r.http!.levels.map((l) => l.connections), [1, 8, 32]);
      assert.ok(r.http!.rss_before_mib! > 0 && r.http!.hwm_end_mib! >= r.http!.rss_before_mib!);

      // versus: ours and the FastAPI + PyTorch peer under the same wrk load, same masks
      const vs = r.versus!;
      assert.deepEqual(vs.servers.map((x) => x.id), ["ours", "peer"]);
      for (const srv of vs.servers) assert.equal(srv.error, undefined, srv.error);
      for (const id of ["ours", "peer"]) {
        const c1 = vs.summary.find((x) => x.server === id && x.connections === 1)!;
        assert.ok(c1.rps > 0 && c1.p50_ms > 0 && c1.cpu_ms_per_request! > 0, id);
      }
      assert.equal(vs.servers.find((x) => x.id === "peer")!.mask_agreement, 1);
      assert.ok(vs.levels.every((l) => l.errors === 0));

      // cold start and profile
      assert.equal(r.cold_start!.samples_ms.length, 2);
      assert.ok(r.cold_start!.ready_ms.median_ms > 0);
      assert.ok(
        r.cold_start!.command!.includes("--node-modules-dir=manual"),
        "the deployed command",
      );
      assert.equal(r.cold_start!.serve!.samples_ms.length, 2);
      assert.ok(r.cold_start!.serve!.ready_ms.median_ms > 0);
      // requests one at a time: every configuration and model answered, with an inference time
      assert.equal(r.sparse!.rows.length, SPARSE_CONFIGS.length * SPARSE_MODELS.length);
      assert.deepEqual(
        [...new Set(r.sparse!.rows.map((row) => row.config))].sort(),
        SPARSE_CONFIGS.map((c) => c.id).sort(),
      );
      for (const row of r.sparse!.rows) {
        assert.ok(row.inference_ms > 0, `${row.config}/${row.model}`);
      }
      const st = r.profile!.stages!;
      for (const k of ["decode", "preprocess", "inference", "postprocess", "encode_png"] as const) {
        assert.ok(st.stages[k].n > 0 && st.stages[k].median_ms > 0, k);
      }
      assert.ok(r.profile!.http!.rtt_png.median_ms > 0);
      assert.match(r.profile!.http!.server_timing_example ?? "", /inference;dur=/);

      // targets and the report
      assert.ok(r.targets.length >= 10);
      assert.ok(r.load.start.loadavg.length === 3 && r.load.end!.loadavg.length === 3);
      const md = await Deno.readTextFile(`${out}/RESULTS.md`);
      for (
        const h of [
          "## Targets",
          "## 1. Student vs teacher",
          "## 2. Against the limit",
          "## 4. Serving",
          "## 5. Where the time goes",
          "## Method",
        ]
      ) assert.ok(md.includes(h), h);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
