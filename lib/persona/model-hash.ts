// The model-file hash recorded in persona-vector metadata lives with the model (Model.load
// computes it); re-exported here where the persona layer has always offered it.
export { modelFileHash } from '../model-file-hash';
