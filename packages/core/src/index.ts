export type {
  ItemText,
  InteractionDataset,
  LeaveOneOutSplit,
  ProgressEvent,
  ProgressListener,
} from './types';
export { Rng } from './rng';
