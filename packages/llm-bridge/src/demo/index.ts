/**
 * `@allmrec/llm-bridge/demo`: the demonstration LM. It is not a pretrained LLM: its retrieval
 * circuit (the look-back heads that give every slot its title, the matching head that compares the
 * user slot with the item slots and copies the best one's title, the section flag that keeps the
 * history out) was written by hand (`GPT2Spec.lookBack`), and pretraining only teaches the rest of
 * the answer format around it. So a Stage 2 number with this LM shows that the plumbing works
 * (F_U and F_I reach the slots, the answer is read back and scored), not that a pretrained LLM
 * reads collaborative knowledge from its prompt, which is what A-LLMRec asks of its frozen OPT-6.7B.
 * Use it where no pretrained LM can be downloaded, for tests and for research on the seam; for
 * the paper's setting, load a pretrained checkpoint with `loadCausalLM` from the package root.
 *
 * Pretraining a small GPT-2-family causal LM on item texts, for machines where no pretrained LM
 * can be downloaded (`allmrec lm pretrain`). The result is an ordinary Hugging Face checkpoint
 * directory (config.json + model.safetensors + tokenizer.json) that `loadCausalLM` reads and
 * Stage 2 keeps frozen like any other LM.
 *
 * ## The corpus ({@link buildPretrainCorpus})
 * A-LLMRec relies on the frozen LLM already knowing how to answer "The recommendation is " with a
 * quoted title copied from the candidate list (OPT-6.7B learned that kind of copying in
 * pretraining). A tiny LM must learn it here, so the corpus has two parts:
 * 1. the items' texts (title, and the description when there is one);
 * 2. "list-copy" documents in the exact wording of the Stage 2 prompt (`prompt.ts`): a user slot,
 *    a history of quoted titles each followed by a slot, the candidate title set each followed by
 *    a slot, then `The recommendation is "<title>"` and end-of-text. The prompt part is context
 *    only ({@link CONTEXT_MARK}: read, never predicted), so all of a list document's loss is on the
 *    answer. The answer is either any listed title ('random') or, with `listAnswer: 'marker'`, the
 *    candidate whose slot holds the same token as the user slot ({@link SLOT_MATCH}): in-context
 *    retrieval keyed by the slots, which is what Stage 2 asks of the LM once the slots hold F_U(x_u)
 *    and F_I(e_i).
 * Only item texts are used: no interactions, no users, so nothing about test targets leaks (the
 * answer is random; the LM learns the format and to copy a listed title, not which one).
 *
 * Copying is the slow part for a small LM: in a toy run (50 titles, 2-layer, hidden 64) the loss
 * sits on a plateau for ~300 steps before copying appears. Two things help: item titles can be
 * whole tokens of the trained tokenizer (`addedTokens`, so a title is copied as one token rather
 * than by induction over its pieces), and those tokens start around one shared mean
 * (`GPT2Spec.sharedInitRows`), as tokens added to a trained LM usually are.
 *
 * ## The model ({@link TrainableGPT2}, {@link pretrainLM})
 * GPT-2: learned positions, pre-LayerNorm blocks, GELU (tanh), tied input/output embeddings,
 * LayerNorm eps 1e-5, initialisation N(0, 0.02) (residual projections scaled by 1/sqrt(2·layers)).
 * Weights are `tf.Variable`s named like Hugging Face's `GPT2LMHeadModel` (without the
 * "transformer." prefix); every op with a large matMul has a custom gradient of plain matMuls with
 * explicit transposes (WASM pitfall 2), the cross-entropy has its own softmax − one-hot gradient
 * (pitfall 4), and attention uses core's fused causal-attention kernel when the backend has it.
 * Rows are packed with whole documents (each followed by `<|endoftext|>`); a document longer than
 * a row is split; the tail of a row is padding that is never a target. AdamW (β 0.9/0.95, weight
 * decay 0.01 on matrices), global gradient-norm clipping at 1.0, linear warm-up then cosine decay
 * to 10 % of the learning rate. Batches are drawn per step from a generator forked from
 * (seed, step), so a run is deterministic and a resumed run equals an uninterrupted one.
 */
export {
  trainByteLevelBPE, bytesToUnicode, byteLevelPieces, GPT2_SPLIT_REGEX,
  type BPETrainOptions, type TrainedBPE,
} from './bpe-trainer';
export {
  PIECE_BREAK, SLOT_MARK, SLOT_MATCH, CONTEXT_MARK, VECTOR_SLOT, VECTOR_ROLES,
  buildPretrainCorpus, listCopyDocument, textPieces, tokenizeDocument,
  type PretrainCorpusOptions, type ListAnswer, type ListCopyDocument,
} from './corpus';
export { slotVectors, type SlotVectors, type SlotVectorOptions } from './slot-vectors';
export { TrainableGPT2, gpt2ParameterShapes, type GPT2Spec } from './gpt2-trainable';
export { matchSlices, interfaceSlotVectors, sectionMarkerToken, SECTION_MARKER } from './match-head';
export { curriculumPool } from './rows';
export { pretrainLM, type PretrainOptions, type PretrainResult } from './pretrain';
export { listCopyAccuracy, type ListCopyResult } from './list-copy';
