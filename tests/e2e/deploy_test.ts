/**
 * The deployment files under deploy/ checked by code (no cluster, no container engine
 * here): Kubernetes manifests validated against the Kubernetes 1.27 JSON schemas
 * (kubernetes-models), their probes, ports, labels and settings cross-checked against the
 * real server; KServe resources checked field by field (no schema package ships them);
 * the systemd unit verified by `systemd-analyze verify`; the container's exact command
 * line run against a fixture repository; the edge import map kept current.
 */
import { buildKernels } from "../../src/engines/direct/kernels.ts";
import assert from "node:assert/strict";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import YAML from "yaml";
import { edgeImportMap } from "../../deploy/edge/import_map.ts";
import { graphNpmPackages } from "../helpers/module_graph.ts";
import { loadConfig } from "../../src/config.ts";
import { serveV8Flags } from "../../lib/serve_command.ts";
import { authPolicy } from "../../src/server/middleware/api_key_auth/policy.ts";
import { dirname, join } from "node:path";
import { writeMultipart } from "../../src/dicom_node/multipart.ts";
import { HC18_SAMPLES, sampleInstance, US_SOP_CLASS } from "../helpers/dicom_node.ts";
import { makePng } from "../helpers/images.ts";
import { fixtureServer, makeRepo } from "../helpers/model_repo.ts";
import { spawnServer, waitReady } from "../helpers/server_process.ts";

const root = new URL("../../", import.meta.url);
const read = (path: string) => Deno.readTextFileSync(new URL(path, root));
// deno-lint-ignore no-explicit-any
const yaml = (path: string): any => YAML.parse(read(path));

/** Env of a container spec as a map (secret references get a placeholder key). */
// deno-lint-ignore no-explicit-any
function containerEnv(container: any): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    env[e.name] = e.value ?? (e.valueFrom?.secretKeyRef ? "placeholder-key-0123456789abcdef" : "");
  }
  return env;
}

/** Milli-cores and bytes from Kubernetes quantities. */
function quantity(q: string): number {
  const m = /^([0-9.]+)(m|Ki|Mi|Gi)?$/.exec(String(q));
  if (!m) throw new Error(`bad quantity ${q}`);
  const scale = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[m[2] ?? ""] ?? 1;
  return Number(m[1]) * scale;
}

Deno.test("Kubernetes manifests validate against the Kubernetes 1.27 schemas; a broken one does not", () => {
  const kinds = [
    ["deploy/k8s/deployment.yaml", Deployment],
    ["deploy/k8s/service.yaml", Service],
    ["deploy/k8s/hpa.yaml", HorizontalPodAutoscaler],
    ["deploy/k8s/pdb.yaml", PodDisruptionBudget],
    ["deploy/k8s/secret.example.yaml", Secret],
  ] as const;
  for (const [file, Model] of kinds) {
    const doc = yaml(file);
    // deno-lint-ignore no-explicit-any
    assert.doesNotThrow(() => new (Model as any)(doc).validate(), file);
  }
  const broken = yaml("deploy/k8s/deployment.yaml");
  broken.spec.replicas = "two";
  broken.spec.template.spec.containers[0].startupProbe.httpGet.port = { name: "http" };
  assert.throws(() => new Deployment(broken).validate(), /replicas must be integer/);
  const kustomization = yaml("deploy/k8s/kustomization.yaml");
  for (const file of kustomization.resources) {
    assert.ok(Deno.statSync(new URL(`deploy/k8s/${file}`, root)).isFile, file);
  }
});

Deno.test("Kubernetes wiring: probes hit real routes, ports/labels/names agree, env is a valid config, grace covers the drain", async () => {
  const deployment = yaml("deploy/k8s/deployment.yaml");
  const service = yaml("deploy/k8s/service.yaml");
  const hpa = yaml("deploy/k8s/hpa.yaml");
  const pdb = yaml("deploy/k8s/pdb.yaml");
  const pod = deployment.spec.template.spec;
  const [container] = pod.containers;
  const labels = deployment.spec.template.metadata.labels;
  assert.deepEqual(deployment.spec.selector.matchLabels, labels);
  assert.deepEqual(service.spec.selector, labels);
  assert.deepEqual(pdb.spec.selector.matchLabels, labels);
  assert.deepEqual(hpa.spec.scaleTargetRef, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    name: deployment.metadata.name,
  });
  assert.ok(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas > hpa.spec.minReplicas);

  const env = containerEnv(container);
  const config = loadConfig(env);
  assert.equal(config.auth, "required");
  assert.equal(authPolicy(config).enforced, true, "keys come from the secret");
  assert.deepEqual(
    env.TINYUNET_API_KEYS &&
      container.env.find((e: { name: string }) => e.name === "TINYUNET_API_KEYS").valueFrom
        .secretKeyRef.name,
    yaml("deploy/k8s/secret.example.yaml").metadata.name,
  );
  const http = container.ports.find((p: { name: string }) => p.name === "http");
  assert.equal(http.containerPort, config.port);
  assert.equal(service.spec.ports[0].targetPort, "http");
  assert.equal(
    container.volumeMounts.find((m: { name: string }) => m.name === "models").mountPath,
    config.modelsDir,
  );

  // probes: the paths answer as probes expect on a real app (ready only once warm)
  await using s = await fixtureServer([{ name: "lesion" }], {
    apiKeys: config.apiKeys,
    auth: "required",
  });
  for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
    const get = container[probe].httpGet;
    assert.equal(get.port, "http", probe);
    const res = await s.app.request(get.path);
    assert.equal(res.status, 200, `${probe} ${get.path} answers without a key`);
    await res.body?.cancel();
  }
  assert.equal(container.startupProbe.httpGet.path, "/v2/health/ready");
  assert.equal(container.readinessProbe.httpGet.path, "/v2/health/ready");
  assert.equal(container.livenessProbe.httpGet.path, "/v2/health/live");
  s.registry.markDraining();
  assert.equal(
    (await s.app.request(container.readinessProbe.httpGet.path)).status,
    503,
    "readiness drops while draining",
  );

  // shutdown: preStop + drain fit in the grace period
  const preStop = Number(container.lifecycle.preStop.exec.command[1]);
  assert.ok(
    pod.terminationGracePeriodSeconds >= preStop + config.shutdownTimeoutMs / 1000,
    "grace period covers preStop + drain",
  );

  // resources: limits above requests; the memory limit above the measured peak RSS (273 MiB)
  const { requests, limits } = container.resources;
  assert.ok(
    quantity(limits.memory) >= quantity(requests.memory) &&
      quantity(limits.cpu) >= quantity(requests.cpu),
  );
  assert.ok(quantity(requests.memory) >= 273 * 2 ** 20, "requests cover the measured peak");
  assert.equal(container.securityContext.readOnlyRootFilesystem, true);
  assert.equal(pod.securityContext.runAsNonRoot, true);
});

Deno.test("KServe: InferenceService (V2) and its ServingRuntime agree with each other and with the server", async () => {
  const isvc = yaml("deploy/kserve/inferenceservice.yaml");
  const runtime = yaml("deploy/kserve/serving_runtime.yaml");
  assert.equal(isvc.apiVersion, "serving.kserve.io/v1beta1");
  assert.equal(isvc.kind, "InferenceService");
  assert.match(isvc.metadata.name, /^[a-z]([-a-z0-9]*[a-z0-9])?$/, "DNS-1035 name");
  const model = isvc.spec.predictor.model;
  assert.equal(model.protocolVersion, "v2");
  assert.equal(model.runtime, runtime.metadata.name);
  assert.ok(model.storageUri);
  assert.equal(runtime.apiVersion, "serving.kserve.io/v1alpha1");
  assert.equal(runtime.kind, "ServingRuntime");
  assert.ok(runtime.spec.protocolVersions.includes("v2"));
  assert.ok(
    runtime.spec.supportedModelFormats.some((f: { name: string }) =>
      f.name === model.modelFormat.name
    ),
  );
  const [container] = runtime.spec.containers;
  assert.equal(container.name, "kserve-container");
  const config = loadConfig(containerEnv(container));
  assert.equal(config.port, container.ports[0].containerPort);
  assert.equal(
    config.modelsDir,
    "/mnt/models",
    "where KServe's storage initializer puts storageUri",
  );
  await using s = await fixtureServer([{ name: "lesion" }]);
  for (const probe of ["readinessProbe", "livenessProbe"]) {
    assert.equal(container[probe].httpGet.port, config.port);
    assert.equal((await s.app.request(container[probe].httpGet.path)).status, 200, probe);
  }
  // the V2 routes KServe clients call exist
  assert.equal((await s.app.request("/v2/models/lesion/ready")).status, 200);
  assert.equal((await (await s.app.request("/v2")).json()).name, "tinyunet-edge");
});

Deno.test("systemd unit: systemd-analyze verify passes; hardening options present; same command (and V8 flags as deno task serve) as the container", async () => {
  const unit = read("deploy/systemd/tinyunet-edge.service");
  // The shipped unit names where an install puts Deno (/usr/local/bin/deno, see its header);
  // this machine's Deno may live elsewhere, and verify checks that the program exists. So a
  // copy that differs only in that path, pointing at the Deno running these tests, is verified.
  const shippedDeno = /^ExecStart=(\S+) /m.exec(unit)![1];
  assert.equal(shippedDeno, "/usr/local/bin/deno", "the path the unit's header documents");
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-unit-" });
  const copy = `${dir}/tinyunet-edge.service`;
  await Deno.writeTextFile(
    copy,
    unit.replace(/^ExecStart=\S+ /m, `ExecStart=${Deno.execPath()} `),
  );
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("systemd-analyze", {
      args: ["verify", copy],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch {
    throw new Error("systemd-analyze is missing: deno task setup (installs systemd)");
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  const messages = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  assert.ok(out.success, messages);
  assert.equal(messages.trim(), "", "no warnings");
  for (
    const line of [
      "DynamicUser=yes",
      "ProtectSystem=strict",
      "ReadOnlyPaths=/opt/tinyunet-edge/models",
      "MemoryMax=1G",
      "Restart=on-failure",
      "NoNewPrivileges=yes",
      "KillSignal=SIGTERM",
    ]
  ) {
    assert.ok(unit.split("\n").includes(line), line);
  }
  // the one writable path: the state directory, where the env example puts the outbox
  const state = `/var/lib/${/^StateDirectory=(\S+)$/m.exec(unit)![1]}`;
  assert.match(unit, new RegExp(`^ExecStart=.* --allow-write=${state} `, "m"));
  const example = read("deploy/systemd/tinyunet-edge.env.example");
  const outbox = /^TINYUNET_OUTBOX=(\S+)$/m.exec(example)![1];
  assert.ok(outbox.startsWith(`${state}/`), `${outbox} is under ${state}`);
  assert.equal(loadConfig({ TINYUNET_OUTBOX: outbox }).dicomNode?.outboxDir, outbox);
  const stopSec = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)![1]);
  assert.ok(stopSec > 25, "systemd waits longer than the server's drain");
  const exec = /^ExecStart=\S+ (.*)$/m.exec(unit)![1].split(" ");
  const entry = JSON.parse(
    /^ENTRYPOINT (.*)$/m.exec(read("deploy/container/Containerfile"))![1],
  ) as string[];
  assert.deepEqual(exec, entry.slice(1), "the unit and the image run the same command");
  const v8Flags = serveV8Flags();
  assert.equal(v8Flags.length, 1, "deno task serve sets its V8 flags");
  assert.ok(exec.includes(v8Flags[0]), "the unit and the image use deno task serve's V8 flags");
});

Deno.test({
  name:
    "the container's exact command line (its permission flags) serves, writes the outbox in its volume, drains",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const entry = JSON.parse(
      /^ENTRYPOINT (.*)$/m.exec(read("deploy/container/Containerfile"))![1],
    ) as string[];
    assert.equal(entry[0], "deno");
    const containerfile = read("deploy/container/Containerfile");
    // the outbox (image ENV) lies in the declared volume, the one path the command may write
    const volume = /^VOLUME (\S+)$/m.exec(containerfile)![1];
    const writable = `--allow-write=${volume}`;
    assert.ok(entry.includes(writable), writable);
    assert.match(containerfile, new RegExp(`TINYUNET_OUTBOX=${volume}/outbox\\b`));
    // the direct kernels: built in the build stage where the image's TINYUNET_KERNELS_DIR names
    const kernelsDir = /TINYUNET_KERNELS_DIR=(\S+) deno run --allow-all tools\/build_kernels\.ts/
      .exec(containerfile)?.[1];
    assert.ok(kernelsDir, "the build stage builds the kernels");
    assert.match(containerfile, new RegExp(`^\\s+TINYUNET_KERNELS_DIR=${kernelsDir} \\\\$`, "m"));
    const built = await buildKernels();
    assert.ok("path" in built, JSON.stringify(built));
    // here a temporary folder stands in for the volume
    const state = await Deno.makeTempDir({ prefix: "tinyunet-state-" });
    const repo = await makeRepo([{ name: "lesion", net: { channels: 1 } }]);
    const key = "container-key-0123456789abcdef";
    const container = () =>
      entry.slice(1).map((a) => a === writable ? `--allow-write=${state}` : a);
    await using server = spawnServer(repo, {
      TINYUNET_THREADS: "", // the engine's default, as in the image
      TINYUNET_OUTBOX: join(state, "outbox"),
      TINYUNET_DIMSE_ROUTES: "US=lesion",
      TINYUNET_WATCH: "poll",
      TINYUNET_AUTH: "required",
      TINYUNET_API_KEYS: key,
      TINYUNET_LOG: "silent",
      TINYUNET_NATIVE_PROBE: "always", // the probe child starts under the image's permissions
      TINYUNET_KERNELS_DIR: dirname(built.path), // stands in for the image's folder
    }, container);
    await waitReady(server.base);
    const models = await (await fetch(`${server.base}/v1/models`, {
      headers: { authorization: `Bearer ${key}` },
    })).json();
    assert.match(
      models.models[0].runtime[0].notes.join("; "),
      /^direct kernels \(one thread a run(, two for a run alone where faster)?\)/,
    );
    const res = await fetch(`${server.base}/v1/segment?format=json`, {
      method: "POST",
      headers: { "content-type": "image/png", authorization: `Bearer ${key}` },
      body: makePng(32, 32, 3),
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal((await res.json()).model, "lesion");
    // STOW-RS: the SEG is written to the outbox (this failed with --allow-read only)
    const us = await sampleInstance(HC18_SAMPLES[0], US_SOP_CLASS, "US");
    const { body, contentType } = writeMultipart([{
      contentType: "application/dicom",
      bytes: us.bytes,
    }]);
    const stow = await fetch(`${server.base}/dicomweb/studies`, {
      method: "POST",
      headers: { "content-type": contentType, authorization: `Bearer ${key}` },
      body: body as Uint8Array<ArrayBuffer>,
    });
    assert.equal(stow.status, 200, await stow.clone().text());
    await stow.body?.cancel();
    assert.equal([...Deno.readDirSync(join(state, "outbox", "segs"))].length, 1);
    server.kill("SIGTERM");
    assert.equal((await server.status()).code, 0);

    // and without keys, TINYUNET_AUTH=required refuses to start
    await using refused = spawnServer(repo, { TINYUNET_AUTH: "required" }, container);
    assert.equal((await refused.status()).code, 1);
    assert.ok(
      refused.json().some((l) =>
        l.msg === "cannot start" && /TINYUNET_AUTH=required/.test(String(l.error))
      ),
    );
    await Deno.remove(repo, { recursive: true });
    await Deno.remove(state, { recursive: true });
  },
});

Deno.test("edge bundle: the import map is current and leaves the native and ORT-web engines out", async () => {
  const { imports } = JSON.parse(read("deno.json"));
  assert.deepEqual(
    JSON.parse(read("deploy/edge/import_map.json")),
    edgeImportMap(imports),
    "run: deno run -A deploy/edge/import_map.ts",
  );
  // the npm packages the modules of the graph actually resolve to (npmPackages lists the whole lockfile)
  const packages = await graphNpmPackages("deploy/edge/main.ts", {
    importMap: "deploy/edge/import_map.json",
  });
  assert.ok(
    packages.some((p) => p.startsWith("@tensorflow/tfjs-backend-wasm@")),
    "tfjs-wasm is in",
  );
  for (const gone of ["onnxruntime-node", "onnxruntime-web", "playwright-core", "dcmjs-dimse"]) {
    assert.ok(!packages.some((p) => p.startsWith(`${gone}@`)), `${gone} left out`);
  }
});
