export { fnv1a32, fnv1a32Hex, fnv1a64, fnv1a64Hex, fnv1a64JsOnly, toHex64, fromHex64, type HashInput } from './fnv1a.js'
export { createFnv1a32, createFnv1a64, type FnvHasher } from './hasher.js'
export { hashFile, type HashFileOptions } from './hash-file.js'
export {
  ChangeDetector,
  type ChangeCheck,
  type ChangeDetectorOptions,
  type ChangeStatus,
  type CheckOptions,
  type ScanResult,
} from './change-detector.js'
export { ChangeDetectorError, type ChangeDetectorErrorCode } from './errors.js'
