/**
 * The segmentation page: pick a model (GET /v1/models), choose or drop an image, segment
 * it (POST …/segment?format=json), draw the mask over the image, show the measurements
 * and timings, and offer the mask PNG, DICOM SEG and JSON for download. DICOM files are
 * shown through the server's windowed rendering (?format=overlay with nothing drawn).
 * A new request, an error, a new file or another model clears the previous result and
 * its downloads, so nothing on screen belongs to another image or model.
 */
import { drawOverlay, rleToMask } from "./mask.js";

const $ = (id) => document.getElementById(id);
const state = {
  models: [],
  file: null,
  isDicom: false,
  json: null,
  image: null,
  mask: null,
  /** bumped by every clear: an answer to an older request is dropped */
  generation: 0,
};

function announce(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

async function apiError(res) {
  try {
    const body = await res.json();
    return `${body.error} (${body.code}, HTTP ${res.status})`;
  } catch {
    return `HTTP ${res.status}`;
  }
}

/** DICOM Modality codes in words. */
const MODALITY_WORDS = {
  US: "ultrasound",
  CT: "CT",
  MR: "MRI",
  CR: "radiography",
  DX: "radiography",
  MG: "mammography",
  XA: "angiography",
  PT: "PET",
  NM: "nuclear medicine",
  XC: "external camera photography (e.g. dermoscopy)",
  ES: "endoscopy",
  GM: "general microscopy",
  SM: "slide microscopy",
  OP: "ophthalmic photography",
  OT: "other",
};

function modalitiesInWords(codes) {
  if (!codes?.length) return "any kind of image";
  return codes.map((c) => `${MODALITY_WORDS[c] ?? c} (${c})`).join(", ");
}

/** Where and how the model ran, in words for people who do not know the engines. */
function engineInWords(engine, precision) {
  const where = {
    native: "on this server's processor (ONNX Runtime)",
    wasm: "on this server's processor, in WebAssembly (ONNX Runtime Web)",
    webgpu: "on this server's graphics processor (ONNX Runtime Web, WebGPU)",
    "tfjs-wasm": "on this server's processor, in WebAssembly (TensorFlow.js)",
  }[engine] ?? `with the ${engine} engine`;
  const how = precision === "int8"
    ? "compressed 8-bit model (faster; masks may differ slightly from the full model)"
    : "full-precision model";
  return `computed ${where}, ${how}`;
}

/** Removes the previous result and disables its downloads. */
function clearResult() {
  state.generation++;
  state.json = null;
  state.image = null;
  state.mask = null;
  $("result").hidden = true;
  for (const id of ["dl-mask", "dl-seg", "dl-json"]) $(id).disabled = true;
  const canvas = $("canvas");
  canvas.getContext("2d")?.clearRect(0, 0, canvas.width, canvas.height);
  $("caption").textContent = "";
}

function selectedModel() {
  return state.models.find((m) => m.name === $("model").value);
}

function showModelInfo() {
  const m = selectedModel();
  if (!m) return;
  const runtime = m.runtime?.[0];
  $("model-info").textContent = `Finds: ${m.label}. Intended for: ${
    modalitiesInWords(m.modalities)
  }. Version ${m.latest_version}, ${engineInWords(runtime?.engine, runtime?.precision)}.`;
  $("untrained").hidden = m.trained !== false;
}

async function loadModels() {
  const res = await fetch("/v1/models");
  if (!res.ok) return announce(`Could not list the models: ${await apiError(res)}`, true);
  const list = await res.json();
  state.models = list.models;
  const select = $("model");
  select.replaceChildren(...list.models.map((m) => {
    const option = new Option(
      `${m.title} (${m.name})${m.trained === false ? " — UNTRAINED" : ""}`,
      m.name,
    );
    option.selected = m.name === list.default_model;
    return option;
  }));
  showModelInfo();
}

/** Whether a file is DICOM: its name, its type, or "DICM" at byte 128. */
async function sniffDicom(file) {
  if (/\.(dcm|dicom)$/i.test(file.name) || file.type === "application/dicom") return true;
  const magic = new Uint8Array(await file.slice(128, 132).arrayBuffer());
  return String.fromCharCode(...magic) === "DICM";
}

async function setFile(file) {
  clearResult();
  state.file = file;
  state.isDicom = await sniffDicom(file);
  $("file-name").textContent = `Selected: ${file.name} (${
    state.isDicom ? "DICOM" : file.type || "unknown type"
  }, ${file.size} bytes)`;
}

function segmentUrl(format, extra = {}) {
  const params = new URLSearchParams({ format, ...extra });
  const window = $("window").value.trim();
  if (window && state.isDicom) params.set("window", window);
  return `/v1/models/${encodeURIComponent($("model").value)}/segment?${params}`;
}

function post(url) {
  const type = state.isDicom ? "application/dicom" : state.file.type || "application/octet-stream";
  return fetch(url, { method: "POST", body: state.file, headers: { "content-type": type } });
}

/** The picture under the mask: the file itself, or for DICOM the server's windowed rendering. */
async function baseImage() {
  if (!state.isDicom) return await createImageBitmap(state.file);
  const res = await post(segmentUrl("overlay", { opacity: "0", outline: "0" }));
  if (!res.ok) throw new Error(`could not render the DICOM image: ${await apiError(res)}`);
  return await createImageBitmap(await res.blob());
}

function render() {
  const { json, image, mask } = state;
  if (!json) return;
  const opacity = Number($("opacity").value);
  $("opacity-value").textContent = opacity.toFixed(2);
  drawOverlay($("canvas"), image, mask, json.width, json.height, {
    opacity,
    outlineOnly: $("outline-only").checked,
  });
}

function showNumbers(json, roundTripMs) {
  $("pixel-area").textContent = String(json.pixel_area);
  $("fraction").textContent = `${(json.foreground_fraction * 100).toFixed(2)}% of the image`;
  $("area-mm2").textContent = json.area_mm2 === null
    ? "unknown (the image carries no pixel spacing)"
    : `${json.area_mm2.toFixed(2)} mm² (pixel spacing ${json.pixel_spacing_mm.join(" × ")} mm)`;
  $("size").textContent = `${json.width} × ${json.height} pixels`;
  $("model-used").textContent = `${json.model} v${json.version} (${json.label}), ${
    engineInWords(json.engine, json.precision)
  }`;
  $("modality").textContent = `model intended for ${modalitiesInWords(json.model_modalities)}${
    json.modality ? `; this image: ${modalitiesInWords([json.modality])}` : ""
  }`;
  $("postprocess").textContent = (json.postprocess ?? []).includes("largest_component")
    ? "largest region kept (the model's card asks for it)"
    : "none (the network's thresholded mask)";
  const t = json.timings;
  $("timings").textContent =
    `decode ${t.decode_ms} ms, preprocess ${t.preprocess_ms} ms, queue ${t.queue_ms} ms, ` +
    `inference ${t.inference_ms} ms, postprocess ${t.postprocess_ms} ms; round trip ${
      Math.round(roundTripMs)
    } ms`;
  $("caption").textContent = json.pixel_area === 0
    ? `${state.file.name}: nothing found (no ${json.label} marked in this image)`
    : `${state.file.name}: ${json.label} outlined in pink`;
  $("dl-mask").disabled = false;
  $("dl-json").disabled = false;
  $("dl-seg").disabled = !state.isDicom;
  $("seg-hint").textContent = state.isDicom
    ? ""
    : "DICOM SEG needs a DICOM input (it references the source image and study).";
}

async function segment(event) {
  event.preventDefault();
  if (!state.file) return announce("Choose an image file first.", true);
  if (!$("window").checkValidity()) {
    return announce("The window must be center,width, e.g. 40,400.", true);
  }
  $("segment").disabled = true;
  clearResult();
  const generation = state.generation;
  announce(`Segmenting ${state.file.name}…`);
  try {
    const t0 = performance.now();
    const res = await post(segmentUrl("json"));
    if (generation !== state.generation) return; // the model or file changed meanwhile
    if (!res.ok) {
      clearResult();
      return announce(`Segmentation failed: ${await apiError(res)}`, true);
    }
    const json = await res.json();
    const roundTrip = performance.now() - t0;
    const image = await baseImage();
    if (generation !== state.generation) return;
    state.json = json;
    state.mask = rleToMask(json.rle);
    state.image = image;
    $("result").hidden = false;
    render();
    showNumbers(json, roundTrip);
    const mm = json.area_mm2 === null ? "" : `, ${json.area_mm2.toFixed(2)} mm²`;
    announce(
      json.pixel_area === 0
        ? `Done: nothing found (no ${json.label} marked), inference ${json.timings.inference_ms} ms.`
        : `Done: ${json.pixel_area} foreground pixels${mm}, inference ${json.timings.inference_ms} ms.`,
    );
  } catch (err) {
    if (generation !== state.generation) return;
    clearResult();
    announce(`Segmentation failed: ${err.message}`, true);
  } finally {
    $("segment").disabled = false;
  }
}

function saveBlob(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

async function download(format, name) {
  if (!state.json) return announce("Segment an image first.", true);
  announce(`Preparing ${name}…`);
  const res = await post(segmentUrl(format));
  if (!res.ok) return announce(`Download failed: ${await apiError(res)}`, true);
  saveBlob(await res.blob(), name);
  announce(`Downloaded ${name}.`);
}

function stem() {
  return (state.file?.name ?? "image").replace(/\.[^.]+$/, "");
}

function wire() {
  $("model").addEventListener("change", () => {
    clearResult();
    showModelInfo();
  });
  $("file").addEventListener("change", () => $("file").files[0] && setFile($("file").files[0]));
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const file = e.dataTransfer?.files?.[0];
    if (file) void setFile(file);
  });
  $("form").addEventListener("submit", segment);
  $("opacity").addEventListener("input", render);
  $("outline-only").addEventListener("change", render);
  $("dl-mask").addEventListener("click", () => download("png", `${stem()}-mask.png`));
  $("dl-seg").addEventListener("click", () => download("dicom-seg", `${stem()}-seg.dcm`));
  $("dl-json").addEventListener("click", () => {
    saveBlob(
      new Blob([JSON.stringify(state.json, null, 2)], { type: "application/json" }),
      `${stem()}-segmentation.json`,
    );
    announce("Downloaded the JSON.");
  });
}

wire();
clearResult();
loadModels().catch((err) => announce(`Could not list the models: ${err.message}`, true));
