import { packageBuild } from '../../tools/tsup/preset';

// shims: the built ESM locates data files (model weights, vocabularies) next to its code.
export default packageBuild({ shims: true });
