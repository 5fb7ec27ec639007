/**
 * config.json `model_type` -> checkpoint family, and the one function that turns a parsed config
 * and a checkpoint's tensors into a {@link DecoderArch} and {@link DecoderData}.
 */
import type { SafetensorsTensor } from '@allmrec/core';
import type { DecoderArch, DecoderData } from './arch';
import type { DecoderFamily } from './families/family';
import { gemmaFamily } from './families/gemma';
import { gpt2Family } from './families/gpt2';
import { gptNeoxFamily } from './families/gpt-neox';
import { llamaFamily } from './families/llama';
import { optFamily } from './families/opt';
import { phi3Family } from './families/phi3';
import { HFConfig } from './hf-config';
import { TensorReader } from './tensors';

const FAMILIES: DecoderFamily[] = [gpt2Family, optFamily, llamaFamily, gemmaFamily, phi3Family, gptNeoxFamily];

/** Every config.json `model_type` this package loads. */
export const SUPPORTED_MODEL_TYPES: readonly string[] = FAMILIES.flatMap((f) => f.modelTypes);

/** The family reading `model_type`. */
export function familyOf(c: HFConfig): DecoderFamily {
  if (!c.has('model_type')) c.fail('"model_type" is missing');
  const f = FAMILIES.find((x) => x.modelTypes.includes(c.modelType));
  if (!f) c.fail(`model_type "${c.modelType}" is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  return f;
}

/** A parsed config.json checked for what no family reads, and the family it names. */
function configAndFamily(raw: Record<string, unknown>, file: string): { c: HFConfig; family: DecoderFamily } {
  const c = new HFConfig(raw, file);
  c.checkCommon();
  return { c, family: familyOf(c) };
}

/** The architecture of a parsed config.json (`file` names it in errors). */
export function decoderArch(raw: Record<string, unknown>, file: string): DecoderArch {
  const { c, family } = configAndFamily(raw, file);
  return family.arch(c);
}

/** The architecture and weights of a checkpoint. */
export function decoderFromCheckpoint(
  raw: Record<string, unknown>, file: string, tensors: Map<string, SafetensorsTensor>, label: string,
): { arch: DecoderArch; data: DecoderData } {
  const { c, family } = configAndFamily(raw, file);
  const arch = family.arch(c);
  const data = family.weights(arch, new TensorReader(tensors, family.prefixes, label), c);
  return { arch, data };
}
