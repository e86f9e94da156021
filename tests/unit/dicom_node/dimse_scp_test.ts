/**
 * The DIMSE listener in-process over a fixture model (card lists US), driven by dcmtk:
 * statuses per failure, the association limit, the data set size limit.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import dimse from "dcmjs-dimse";
import { loadDicomNodeConfig } from "../../../src/dicom_node/config.ts";
import { startDimseListener } from "../../../src/dicom_node/dimse_scp.ts";
import { dcmtk, HC18_SAMPLES, sampleInstance, US_SOP_CLASS } from "../../helpers/dicom_node.ts";
import { makeDicom } from "../../helpers/dicom.ts";
import { fixtureServer } from "../../helpers/model_repo.ts";

async function setup(
  options: { maxAssociations?: number; maxDatasetBytes?: number; maxHeldBytes?: number } = {},
) {
  const dir = await Deno.makeTempDir({ prefix: "tinyunet-scp-" });
  const server = await fixtureServer(
    [{ name: "head", net: { channels: 1 }, card: { modalities: ["US"] } }],
    { dicomNode: loadDicomNodeConfig({ TINYUNET_OUTBOX: join(dir, "outbox") }) },
  );
  const listener = await startDimseListener(server.dicomNode, {
    port: 0,
    hostname: "127.0.0.1",
    maxDatasetBytes: options.maxDatasetBytes ?? 8 * 1024 * 1024,
    instanceTimeoutMs: 30_000,
    maxAssociations: options.maxAssociations,
    maxHeldBytes: options.maxHeldBytes,
  });
  const store = async (bytes: Uint8Array) => {
    const path = join(dir, `${crypto.randomUUID()}.dcm`);
    await Deno.writeFile(path, bytes);
    return await dcmtk("storescu", [
      "-v",
      "-aec",
      "TINYUNET",
      "127.0.0.1",
      String(listener.port),
      path,
    ]);
  };
  return {
    port: listener.port,
    node: server.dicomNode,
    listener,
    store,
    async [Symbol.asyncDispose]() {
      await listener.close();
      await server[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test({
  name: "DIMSE listener: Success for a US, 0xC000 for pixel data it cannot decode, C-ECHO",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using scp = await setup();
    const echo = await dcmtk("echoscu", ["-aec", "TINYUNET", "127.0.0.1", String(scp.port)]);
    assert.equal(echo.code, 0, echo.text);
    const us = await sampleInstance(HC18_SAMPLES[2], US_SOP_CLASS, "US");
    const ok = await scp.store(us.bytes);
    assert.equal(ok.code, 0, ok.text);
    assert.match(ok.text, /Received Store Response \(Success\)/, ok.text);
    // Rows × Columns say 64×64 but only 16 bytes of pixels: the decoder refuses it
    const broken = makeDicom({
      rows: 64,
      columns: 64,
      pixels: new Array(16).fill(1),
      attributes: { SOPClassUID: US_SOP_CLASS, Modality: "US" },
    });
    const bad = await scp.store(broken);
    assert.match(bad.text, /Received Store Response \(Error: CannotUnderstand\)/, bad.text);
  },
});

Deno.test({
  name: "DIMSE listener: past the association limit a new one is rejected (transient, local limit)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using scp = await setup({ maxAssociations: 1 });
    // one association held open for 1.5 s after its C-ECHO
    const client = new dimse.Client();
    client.addRequest(new dimse.requests.CEchoRequest());
    const accepted = new Promise((resolve) => client.on("associationAccepted", resolve));
    const closed = new Promise((resolve) => client.on("closed", resolve));
    dimse.log.setLevel("silent");
    client.send("127.0.0.1", scp.port, "HOLDER", "TINYUNET", { associationLingerTimeout: 1500 });
    await accepted;
    const second = await dcmtk("echoscu", ["-aec", "TINYUNET", "127.0.0.1", String(scp.port)]);
    assert.notEqual(second.code, 0);
    assert.match(second.text, /Local Limit Exceeded/i, second.text);
    await closed;
    const third = await dcmtk("echoscu", ["-aec", "TINYUNET", "127.0.0.1", String(scp.port)]);
    assert.equal(third.code, 0, "a slot is free again once it closed");
  },
});

Deno.test({
  name: "DIMSE listener: a data set over the size limit aborts the association; the next one works",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using scp = await setup({ maxDatasetBytes: 4096 });
    const us = await sampleInstance(HC18_SAMPLES[0], US_SOP_CLASS, "US");
    assert.ok(us.bytes.length > 4096);
    const big = await scp.store(us.bytes);
    assert.notEqual(big.code, 0, big.text);
    const echo = await dcmtk("echoscu", ["-aec", "TINYUNET", "127.0.0.1", String(scp.port)]);
    assert.equal(echo.code, 0, echo.text);
  },
});

Deno.test({
  name:
    "DIMSE listener: past the node-wide budget of held data sets 0xA700 (send again later); the budget is freed once answered",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const us = await sampleInstance(HC18_SAMPLES[0], US_SOP_CLASS, "US");
    {
      await using scp = await setup({ maxHeldBytes: us.bytes.length / 2 });
      const refused = await scp.store(us.bytes);
      assert.match(refused.text, /Received Store Response \(.*OutOfResources\)/, refused.text);
      const echo = await dcmtk("echoscu", ["-aec", "TINYUNET", "127.0.0.1", String(scp.port)]);
      assert.equal(echo.code, 0, "the node keeps serving");
    }
    // room for one data set at a time: the second fits only if the first was given back
    await using scp = await setup({ maxHeldBytes: Math.ceil(us.bytes.length * 1.5) });
    for (let i = 0; i < 2; i++) {
      const ok = await scp.store(us.bytes);
      assert.match(ok.text, /Received Store Response \(Success\)/, ok.text);
    }
  },
});

Deno.test({
  name:
    "DIMSE listener: close lets a C-STORE in progress finish and answer Success, then refuses associations",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using scp = await setup();
    const receive = scp.node.receive.bind(scp.node);
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    scp.node.receive = async (...args: Parameters<typeof receive>) => {
      entered();
      await new Promise((r) => setTimeout(r, 300));
      return await receive(...args);
    };
    const us = await sampleInstance(HC18_SAMPLES[1], US_SOP_CLASS, "US");
    const storing = scp.store(us.bytes);
    await inside;
    await scp.listener.close();
    const out = await storing;
    assert.match(out.text, /Received Store Response \(Success\)/, out.text);
    const echo = await dcmtk("echoscu", ["-aec", "TINYUNET", "127.0.0.1", String(scp.port)]);
    assert.notEqual(echo.code, 0, "no new associations once closed");
  },
});
