/**
 * The claim that any LLM plugs in, as a test: an LM written outside the package passes the same
 * conformance suite as the package's own decoders, through the public entry points only.
 */
import { selectBackend } from '@allmrec/core';
import { defineCausalLMConformanceTests } from '@allmrec/llm-bridge/testing';
import { RunningMeanLM, WordTokenizer } from './running-mean-lm';

const WORDS = ['the', 'user', 'watched', 'a', 'movie', 'game', 'song', 'book', 'next', 'is', 'good', 'old', 'new', 'film'];

defineCausalLMConformanceTests('a running-mean LM defined outside the package', async () => {
  await selectBackend();
  return new RunningMeanLM(new WordTokenizer(WORDS));
}, {
  // The model's own float64 token path, independent of embedTokens + forward.
  reference: (lm) => [[2, 3, 4, 5, 6], [9, 8, 7]].map((ids) => ({ ids, logits: (lm as RunningMeanLM).referenceLogits(ids) })),
});
