import assert from "node:assert/strict";
import {
  loadDicomNodeConfig,
  parseDimseDestination,
  parseRoutes,
} from "../../../src/dicom_node/config.ts";

Deno.test("DICOM node settings: defaults, destinations, routes, outbox", () => {
  const d = loadDicomNodeConfig({});
  assert.equal(d.dimsePort, undefined, "no listener unless TINYUNET_DIMSE_PORT is set");
  assert.equal(d.aet, "TINYUNET");
  assert.deepEqual(d.callingAets, []);
  assert.equal(d.outboxDir, ".data/outbox");
  assert.equal(d.outboxMax, 10_000);
  assert.equal(
    loadDicomNodeConfig({ STATE_DIRECTORY: "/var/lib/x" }).outboxDir,
    "/var/lib/x/outbox",
  );
  const c = loadDicomNodeConfig({
    TINYUNET_DIMSE_PORT: "11112",
    TINYUNET_DIMSE_AET: "AI_NODE",
    TINYUNET_DIMSE_CALLING_AETS: "US1, PACS",
    TINYUNET_DIMSE_ROUTES: "us=hc18, ES=kvasir-seg",
    TINYUNET_DIMSE_DESTINATION: "ORTHANC@pacs.local:4242",
    TINYUNET_DICOMWEB_DESTINATION: "http://pacs:8042/dicom-web/",
    TINYUNET_OUTBOX: "/tmp/o",
  });
  assert.equal(c.dimsePort, 11112);
  assert.equal(c.aet, "AI_NODE");
  assert.deepEqual(c.callingAets, ["US1", "PACS"]);
  assert.deepEqual(c.routes, { US: "hc18", ES: "kvasir-seg" });
  assert.deepEqual(c.dimseDestination, { aet: "ORTHANC", host: "pacs.local", port: 4242 });
  assert.equal(c.dicomwebDestination?.href, "http://pacs:8042/dicom-web");
  assert.deepEqual(parseDimseDestination("PACS@[::1]:104"), {
    aet: "PACS",
    host: "::1",
    port: 104,
  });
});

Deno.test("DICOM node settings: bad values are refused naming the variable", () => {
  for (
    const [env, name] of [
      [{ TINYUNET_DIMSE_PORT: "x" }, "TINYUNET_DIMSE_PORT"],
      [{ TINYUNET_DIMSE_PORT: "70000" }, "TINYUNET_DIMSE_PORT"],
      [{ TINYUNET_DIMSE_AET: "MUCH_TOO_LONG_AE_TITLE" }, "TINYUNET_DIMSE_AET"],
      [{ TINYUNET_DIMSE_DESTINATION: "pacs:4242" }, "TINYUNET_DIMSE_DESTINATION"],
      [{ TINYUNET_DIMSE_DESTINATION: "P@h:70000" }, "TINYUNET_DIMSE_DESTINATION"],
      [{ TINYUNET_DICOMWEB_DESTINATION: "ftp://x" }, "TINYUNET_DICOMWEB_DESTINATION"],
      [{ TINYUNET_OUTBOX_MAX: "0" }, "TINYUNET_OUTBOX_MAX"],
    ] as const
  ) {
    assert.throws(() => loadDicomNodeConfig(env), new RegExp(name));
  }
  assert.throws(() => parseRoutes("US:hc18"), /MODALITY=model/);
});
