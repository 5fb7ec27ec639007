/**
 * The text A-LLMRec encodes per item: `"title, description"` (title plus the first description
 * line), mirroring `formatItemText` of `@allmrec/data` without depending on it.
 */
import type { ItemText } from '@allmrec/core';

/** Placeholder used when an item has no description (as in the authors' code). */
export const EMPTY_DESCRIPTION = 'Empty description';

/**
 * The encoder input of one item: `"title, description"`, where description is the first
 * non-empty line of `item.description` (trimmed), or `emptyDescription` ("Empty description")
 * when there is none; just the description part when the title is empty.
 */
export function itemText(item: ItemText, emptyDescription: string = EMPTY_DESCRIPTION): string {
  const firstLine = item.description.split(/\r?\n/).map((l) => l.trim()).find((l) => l.length > 0) ?? '';
  const d = firstLine || emptyDescription;
  const title = item.title.trim();
  return title ? `${title}, ${d}` : d;
}

/** {@link itemText} of every item, in order (e.g. `itemTexts(dataset.items)`, index 0 = padding item). */
export function itemTexts(items: readonly ItemText[], emptyDescription: string = EMPTY_DESCRIPTION): string[] {
  return items.map((it) => itemText(it, emptyDescription));
}
