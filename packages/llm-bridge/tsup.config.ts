import { packageBuild } from '../../tools/tsup/preset';

// shims: the built ESM locates data files (model weights, vocabularies) next to its code.
// subpaths: @allmrec/llm-bridge/demo (src/demo/index.ts), the demonstration LM pretrained here.
export default packageBuild({ shims: true, subpaths: ['demo'] });
