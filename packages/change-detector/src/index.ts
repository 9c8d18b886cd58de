export { fnv1a32, fnv1a32Hex, fnv1a64, fnv1a64Hex, toHex64, fromHex64, type HashInput } from './fnv1a.js'
export { createFnv1a32, createFnv1a64, type FnvHasher } from './hasher.js'
export { hashFile, type HashFileOptions } from './hash-file.js'
export {
  ChangeDetector,
  type ChangeCheck,
  type ChangeDetectorOptions,
  type ChangeStatus,
  type CheckOptions,
  type FileCheck,
  type RemovedCheck,
} from './change-detector.js'
export { ChangeDetectorError, type ChangeDetectorErrorCode } from './errors.js'
/** For the fnv bench's "JS loop only" row; left out of the published declarations. @internal */
export { fnv1a64JsOnly } from './fnv1a.js'
