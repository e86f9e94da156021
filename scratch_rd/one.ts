import { decodeDicom } from "../src/imaging/decode_dicom.ts";
import { closeCodecWorker } from "../src/imaging/dicom_codec_pool.ts";
try { const x = await decodeDicom(Deno.readFileSync(Deno.args[0]), { maxPixels: 1 << 24 }); console.log("ok", x.width); } catch (e) { console.log("err", (e as Error).message); }
closeCodecWorker();
