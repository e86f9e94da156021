/**
 * The image storage SOP classes the DIMSE listener accepts (PS3.4 Annex B.5): single- and
 * multi-frame images a segmentation model could take. Non-image objects (SR, SEG, RT,
 * waveforms, presentation states…) are refused in association negotiation.
 *
 * @module
 */

/** Segmentation Storage (what the node sends; the SEG writer's SOP class). */
export const SEGMENTATION_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4";

/** Verification (C-ECHO). */
export const VERIFICATION = "1.2.840.10008.1.1";

/** Image storage SOP classes by UID, with their names for logs. */
export const IMAGE_STORAGE: Readonly<Record<string, string>> = {
  "1.2.840.10008.5.1.4.1.1.1": "Computed Radiography Image Storage",
  "1.2.840.10008.5.1.4.1.1.1.1": "Digital X-Ray Image Storage - For Presentation",
  "1.2.840.10008.5.1.4.1.1.1.1.1": "Digital X-Ray Image Storage - For Processing",
  "1.2.840.10008.5.1.4.1.1.1.2": "Digital Mammography X-Ray Image Storage - For Presentation",
  "1.2.840.10008.5.1.4.1.1.1.2.1": "Digital Mammography X-Ray Image Storage - For Processing",
  "1.2.840.10008.5.1.4.1.1.1.3": "Digital Intra-Oral X-Ray Image Storage - For Presentation",
  "1.2.840.10008.5.1.4.1.1.2": "CT Image Storage",
  "1.2.840.10008.5.1.4.1.1.2.1": "Enhanced CT Image Storage",
  "1.2.840.10008.5.1.4.1.1.3.1": "Ultrasound Multi-frame Image Storage",
  "1.2.840.10008.5.1.4.1.1.4": "MR Image Storage",
  "1.2.840.10008.5.1.4.1.1.4.1": "Enhanced MR Image Storage",
  "1.2.840.10008.5.1.4.1.1.6.1": "Ultrasound Image Storage",
  "1.2.840.10008.5.1.4.1.1.6.2": "Enhanced US Volume Storage",
  "1.2.840.10008.5.1.4.1.1.7": "Secondary Capture Image Storage",
  "1.2.840.10008.5.1.4.1.1.7.1": "Multi-frame Single Bit Secondary Capture Image Storage",
  "1.2.840.10008.5.1.4.1.1.7.2": "Multi-frame Grayscale Byte Secondary Capture Image Storage",
  "1.2.840.10008.5.1.4.1.1.7.3": "Multi-frame Grayscale Word Secondary Capture Image Storage",
  "1.2.840.10008.5.1.4.1.1.7.4": "Multi-frame True Color Secondary Capture Image Storage",
  "1.2.840.10008.5.1.4.1.1.12.1": "X-Ray Angiographic Image Storage",
  "1.2.840.10008.5.1.4.1.1.12.2": "X-Ray Radiofluoroscopic Image Storage",
  "1.2.840.10008.5.1.4.1.1.20": "Nuclear Medicine Image Storage",
  "1.2.840.10008.5.1.4.1.1.77.1.1": "VL Endoscopic Image Storage",
  "1.2.840.10008.5.1.4.1.1.77.1.1.1": "Video Endoscopic Image Storage",
  "1.2.840.10008.5.1.4.1.1.77.1.2": "VL Microscopic Image Storage",
  "1.2.840.10008.5.1.4.1.1.77.1.3": "VL Slide-Coordinates Microscopic Image Storage",
  "1.2.840.10008.5.1.4.1.1.77.1.4": "VL Photographic Image Storage",
  "1.2.840.10008.5.1.4.1.1.77.1.5.1": "Ophthalmic Photography 8 Bit Image Storage",
  "1.2.840.10008.5.1.4.1.1.77.1.5.2": "Ophthalmic Photography 16 Bit Image Storage",
  "1.2.840.10008.5.1.4.1.1.77.1.6": "VL Whole Slide Microscopy Image Storage",
  "1.2.840.10008.5.1.4.1.1.77.1.7": "Dermoscopic Photography Image Storage",
  "1.2.840.10008.5.1.4.1.1.128": "Positron Emission Tomography Image Storage",
  "1.2.840.10008.5.1.4.1.1.481.1": "RT Image Storage",
};
