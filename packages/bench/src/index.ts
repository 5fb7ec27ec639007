export {
  runBackboneGrid, benchEvalSets, type BenchSpec, type BenchStage, type BenchCell,
} from './grid';
export { aggregateCells, ROW_METRICS, type BenchRow } from './aggregate';
export { buildReport, markdownReport, htmlReport, writeReports, type BenchReport } from './report';
export { saveEvalSet, loadEvalSet } from './eval-set-file';
