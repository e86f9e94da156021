import { dicomFuzzSeeds } from "./tests/helpers/fuzz_corpus.ts";
import { encapsulate } from "./tests/helpers/dicom_compress.ts";
import { decodeDicom } from "./src/imaging/decode_dicom.ts";
const seeds = (await dicomFuzzSeeds()).filter((s) => s.transferSyntax.endsWith(".80"));
for (const s of seeds) {
  for (const cut of [10, 30, 100, 500, s.frame.length - 10]) {
    const f = encapsulate(s.source, [s.frame.subarray(0, cut)], s.transferSyntax);
    const t = performance.now();
    let r = "";
    try { await decodeDicom(f, { maxPixels: 1e6 }); r = "ok"; } catch (e) { r = (e as Error).message.slice(0, 80); }
    console.log(s.colour, cut, s.frame.length, (performance.now() - t).toFixed(0), r);
  }
}
