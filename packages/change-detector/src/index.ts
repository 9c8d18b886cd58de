export { fnv1a32 } from './fnv1a32.js'
