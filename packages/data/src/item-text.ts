import type { ItemText } from '@allmrec/core';

/** Placeholder A-LLMRec uses for an item without a description. */
export const EMPTY_DESCRIPTION = 'Empty description';

/**
 * The item text A-LLMRec feeds its text encoder: `"title, description"`, with
 * "Empty description" (or `emptyDescription`) when the item has no description.
 */
export function formatItemText(item: ItemText, emptyDescription: string = EMPTY_DESCRIPTION): string {
  const d = item.description.trim() || emptyDescription;
  return item.title ? `${item.title}, ${d}` : d;
}
