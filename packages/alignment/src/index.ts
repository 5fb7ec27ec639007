export { Projector, createProjectors, type ProjectorActivation } from './projectors';
export {
  Stage1Alignment,
  STAGE1_DEFAULTS,
  STAGE1_KIND,
  stage1ParameterShapes,
  type Stage1Config,
  type Stage1Batch,
  type Stage1Losses,
  type Stage1Sources,
  type Stage1FitOptions,
  type Stage1EpochStats,
  type Stage1FitResult,
} from './stage1';
