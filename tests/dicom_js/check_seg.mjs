// Loads a swinsmt DICOM SEG the way OHIF does (dcmjs + @cornerstonejs/adapters) in plain Node and
// compares it with the NIfTI label map of the same run: segments, names, codes, per-frame positions,
// and the decoded masks voxel for voxel.
// Usage: node check_seg.mjs SOURCE_SERIES_FOLDER SEG.dcm LABELS.nii.gz LABEL_TABLE.json
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import dcmjs from 'dcmjs';
import { adaptersSEG } from '@cornerstonejs/adapters';
import { metaData } from '@cornerstonejs/core';

const [seriesFolder, segPath, niftiPath, labelTablePath] = process.argv.slice(2);
const { DicomMessage, DicomMetaDictionary } = dcmjs.data;
let failures = 0;
const fail = (message) => {
  failures += 1;
  if (failures <= 20) console.error(`FAIL: ${message}`);
};
const toArrayBuffer = (b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
const read = (file) => {
  const dicom = DicomMessage.readFile(toArrayBuffer(fs.readFileSync(file)), { untilTag: '7FE00010', includeUntilTagValue: false });
  const dataset = DicomMetaDictionary.naturalizeDataset(dicom.dict);
  dataset._meta = DicomMetaDictionary.namifyDataset(dicom.meta);
  return dataset;
};

// The source slices, sorted along the slice normal as swinsmt reads them.
const slices = fs.readdirSync(seriesFolder).sort().map((name) => read(path.join(seriesFolder, name)));
const iop = slices[0].ImageOrientationPatient.map(Number);
const normal = [iop[1] * iop[5] - iop[2] * iop[4], iop[2] * iop[3] - iop[0] * iop[5], iop[0] * iop[4] - iop[1] * iop[3]];
const along = (s) => s.ImagePositionPatient.reduce((sum, v, i) => sum + Number(v) * normal[i], 0);
slices.sort((a, b) => along(a) - along(b));
const imageIds = slices.map((s, i) => `swinsmt:${i}`);
const byId = new Map(imageIds.map((id, i) => [id, slices[i]]));
const metadataProvider = {
  get(type, imageId) {
    const s = byId.get(imageId);
    if (!s) return undefined;
    const ipp = s.ImagePositionPatient.map(Number);
    const o = s.ImageOrientationPatient.map(Number);
    switch (type) {
      case 'imagePlaneModule':
        return {
          rowCosines: o.slice(0, 3), columnCosines: o.slice(3), imagePositionPatient: ipp,
          imageOrientationPatient: o, rows: s.Rows, columns: s.Columns, pixelSpacing: s.PixelSpacing.map(Number),
          rowPixelSpacing: Number(s.PixelSpacing[0]), columnPixelSpacing: Number(s.PixelSpacing[1]),
          frameOfReferenceUID: s.FrameOfReferenceUID,
        };
      case 'generalSeriesModule':
        return { seriesInstanceUID: s.SeriesInstanceUID, modality: s.Modality };
      case 'generalImageModule':
        return { sopInstanceUID: s.SOPInstanceUID || s._meta.MediaStorageSOPInstanceUID.Value[0] };
      case 'instance':
        return s;
      default:
        return undefined;
    }
  },
};

// The NIfTI label map: uint8 (columns, rows, slices), x fastest.
const nii = zlib.gunzipSync(fs.readFileSync(niftiPath));
const dims = [1, 2, 3].map((i) => nii.readInt16LE(40 + 2 * i));
const voxOffset = nii.readFloatLE(108);
const labels = nii.subarray(voxOffset, voxOffset + dims[0] * dims[1] * dims[2]);
const table = JSON.parse(fs.readFileSync(labelTablePath, 'utf8'));
const idOf = new Map(Object.entries(table).map(([id, name]) => [name, Number(id)]));
const [columns, rows, count] = dims;
if (rows !== slices[0].Rows || columns !== slices[0].Columns || count !== slices.length)
  fail(`the NIfTI is ${dims.join(' x ')}, the series ${slices[0].Columns} x ${slices[0].Rows} x ${slices.length}`);

// dcmjs: segments, codes, per-frame positions.
const segBuffer = toArrayBuffer(fs.readFileSync(segPath));
const segDicom = DicomMessage.readFile(segBuffer);
const seg = DicomMetaDictionary.naturalizeDataset(segDicom.dict);
const present = new Set();
for (const v of labels) if (v) present.add(v);
const segments = [].concat(seg.SegmentSequence);
const numberToId = new Map();
for (const s of segments) {
  const id = idOf.get(s.SegmentLabel);
  if (!id) fail(`segment ${s.SegmentNumber} "${s.SegmentLabel}" is no structure name`);
  numberToId.set(s.SegmentNumber, id);
  const type = [].concat(s.SegmentedPropertyTypeCodeSequence)[0];
  if (!type || !type.CodeValue || type.CodingSchemeDesignator !== 'SCT') fail(`${s.SegmentLabel}: no SCT type code`);
  const modifier = type && type.SegmentedPropertyTypeModifierCodeSequence
    ? [].concat(type.SegmentedPropertyTypeModifierCodeSequence)[0].CodeValue : '';
  const expected = s.SegmentLabel.includes('_left') ? '7771000' : s.SegmentLabel.includes('_right') ? '24028007' : '';
  if (modifier !== expected) fail(`${s.SegmentLabel}: laterality modifier "${modifier}", expected "${expected}"`);
  if (s.SegmentAlgorithmType !== 'AUTOMATIC') fail(`${s.SegmentLabel}: algorithm type ${s.SegmentAlgorithmType}`);
}
const segmentIds = [...numberToId.values()].sort((a, b) => a - b);
const presentIds = [...present].sort((a, b) => a - b);
if (JSON.stringify(segmentIds) !== JSON.stringify(presentIds))
  fail(`segments ${segmentIds} but the NIfTI holds labels ${presentIds}`);
const frames = [].concat(seg.PerFrameFunctionalGroupsSequence);
for (const [f, group] of frames.entries()) {
  const position = [].concat(group.PlanePositionSequence)[0].ImagePositionPatient.map(Number);
  const match = slices.findIndex((s) => s.ImagePositionPatient.every((v, i) => Math.abs(Number(v) - position[i]) < 1e-3));
  if (match < 0) fail(`frame ${f + 1} at ${position} lies on no source slice`);
}

// @cornerstonejs/adapters, both ways OHIF has loaded a SEG: createFromDICOMSegBuffer (Cornerstone3D
// 4: labelmap images in Cornerstone's cache, which reads the source metadata from its own registry)
// and the Cornerstone generateToolState (one labelmap buffer over the referenced images). Each voxel
// holds a segment number, compared with the NIfTI label of the same run. No DOM shims are needed.
const sliceLength = rows * columns;
const compare = (what, segmentNumberAt) => {
  let mismatches = 0;
  for (let k = 0; k < count; ++k)
    for (let p = 0; p < sliceLength; ++p) {
      const number = segmentNumberAt(k, p);
      if ((number ? numberToId.get(number) : 0) !== labels[k * sliceLength + p]) mismatches += 1;
    }
  if (mismatches) fail(`${what}: ${mismatches} voxels differ from the NIfTI`);
  console.log(`${what}: ${count * sliceLength} voxels compared, ${mismatches} differ`);
};

metaData.addProvider((type, imageId) => metadataProvider.get(type, imageId), 10000);
const loaded = await adaptersSEG.Cornerstone3D.Segmentation.createFromDICOMSegBuffer(imageIds, segBuffer, { metadataProvider });
if (loaded.labelMapImages.length !== 1) fail(`${loaded.labelMapImages.length} labelmap image stacks: segments overlap`);
const images = new Map(loaded.labelMapImages[0].map((image) => [image.referencedImageId, image.getPixelData()]));
if (images.size !== count) fail(`labelmap images for ${images.size} of ${count} slices`);
compare('createFromDICOMSegBuffer', (k, p) => images.get(imageIds[k])?.[p] ?? 0);

const toolState = await adaptersSEG.Cornerstone.Segmentation.generateToolState(imageIds, segBuffer, metadataProvider, false, 1e-3, 4);
if (toolState.labelmapBufferArray.length !== 1) fail(`${toolState.labelmapBufferArray.length} labelmaps: segments overlap`);
const labelmap = new Uint8Array(toolState.labelmapBufferArray[0]);
compare('generateToolState', (k, p) => labelmap[k * sliceLength + p]);

console.log(`${segments.length} segments, ${frames.length} frames; ${failures} failures`);
process.exit(failures ? 1 : 0);
