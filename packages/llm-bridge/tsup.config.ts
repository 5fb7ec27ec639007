import { packageBuild } from '../../tools/tsup/preset';

// shims: the built ESM locates data files (model weights, vocabularies) next to its code.
// subpaths: @allmrec/llm-bridge/demo (src/demo/index.ts), the demonstration LM pretrained here;
// @allmrec/llm-bridge/testing (src/testing/index.ts), the LLM conformance suite and test checkpoints.
export default packageBuild({ shims: true, subpaths: ['demo', 'testing'] });
